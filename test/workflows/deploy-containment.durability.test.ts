import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { forkingDeploys, nothingLeft } from '../support/forking-deploy';
import { linesOf, processesMentioning } from '../support/processes';

// Real worker processes SIGKILLed while what they started runs: with cgroups (this host has a writable
// cgroup v2 tree), and with the last resort for hosts without (process group, /proc tree and marker).
describe.each([
  ['in cgroups', {}],
  ['without cgroups', { RUNBOOK_CONTAINMENT: 'process-group' }],
])('processes and the worker that started them, %s', (_mode, env) => {
  const deploys = forkingDeploys(env);

  it("the issue's nested shell: gone with the worker, run once by the retry", async () => {
    const done = path.join(deploys.fx.dir, 'nested-done');
    const first = await deploys.worker();
    const handle = await deploys.startForking(`sh -c "sleep 6; echo done >> ${done}"`, done);
    await deploys.kill(first);
    await nothingLeft(done);
    await deploys.worker();
    expect((await deploys.outcome(handle)).outcome).toBe('succeeded');
    expect(linesOf(done)).toEqual(['done']);
  });

  it('a step that double-forks a daemon which calls setsid: nothing of it survives; the retry runs it once', async () => {
    const log = path.join(deploys.fx.dir, 'forks.log');
    const first = await deploys.worker();
    const handle = await deploys.startForking(
      `(setsid sh -c "sleep 4; echo daemon >> ${log}" > /dev/null 2>&1 &); sleep 5; echo main >> ${log}`,
      log,
    );
    await deploys.kill(first);
    await nothingLeft(log);
    await deploys.worker();
    expect((await deploys.outcome(handle)).outcome).toBe('succeeded');
    expect(processesMentioning(log)).toEqual([]);
    expect(linesOf(log).sort()).toEqual(['daemon', 'main']);
  });

  it("a worker killed with its reaper: the next worker's start ends what the step left, before it runs anything", async () => {
    const log = path.join(deploys.fx.dir, 'orphans.log');
    const once = path.join(deploys.fx.dir, 'first-attempt');
    const first = await deploys.worker();
    // The first attempt takes long; the retry is quick.
    const handle = await deploys.startForking(
      `sh -c "if [ -e ${once} ]; then sleep 1; else touch ${once}; sleep 30; fi; echo done >> ${log}"`,
      log,
    );
    await deploys.kill(first, { reaperToo: true });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(processesMentioning(log).length).toBeGreaterThan(0); // nobody was left to end them

    await deploys.worker(); // resolves once the worker polls: after its start has swept the host
    expect(processesMentioning(log)).toEqual([]);
    expect((await deploys.outcome(handle)).outcome).toBe('succeeded');
    expect(linesOf(log)).toEqual(['done']);
  });

  it('a process service outlives the SIGKILLed worker that started it, and the next worker stops all of it', async () => {
    const { fx } = deploys;
    // A second service that daemonizes a helper (double fork + setsid), as many real services do.
    const helper = path.join(fx.dir, 'helper.sh');
    writeFileSync(helper, 'while :; do sleep 1; done\n');
    const sidekick = path.join(fx.dir, 'sidekick.sh');
    writeFileSync(sidekick, `(setsid sh ${helper} > /dev/null 2>&1 &)\nexec sleep 300\n`);
    (fx.manifest.services as unknown[]).push({
      name: 'sidekick',
      type: 'process',
      start: ['sh', sidekick],
      stopTimeout: '2s',
    });
    fx.save();
    const first = await deploys.worker();
    expect((await deploys.deploy('v1')).outcome).toBe('succeeded');
    const helpers = processesMentioning(helper);
    expect(helpers).toHaveLength(1);

    await deploys.kill(first);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await fx.serving()).toBe('v1');
    expect(processesMentioning(helper)).toEqual(helpers);

    await deploys.worker();
    expect((await deploys.deploy('v2')).outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v2');
    const now = processesMentioning(helper);
    expect(now).toHaveLength(1);
    expect(now).not.toEqual(helpers);
  });
});
