import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/contracts';
import type { Progress } from '../../src/common/progress';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { waitFor } from '../support/postgres';
import { linesOf, processesMentioning } from '../support/processes';
import { runOutcome } from '../support/runs';
import { connectClient } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

// Steps whose commands fork: a real worker process is SIGKILLed while one runs. Nothing the step started may
// keep running after the worker dies, and the retry on a new worker runs the step exactly once.
describe('processes and the worker that started them', () => {
  let fx: AppFixture;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    temporal = await connectClient();
  });
  afterAll(async () => temporal?.close());
  beforeEach(async () => {
    fx = await createAppFixture({ name: 'forks' });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await fx.cleanup();
  });

  async function worker(): Promise<WorkerProcess> {
    const started = await startWorkerProcess({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      manifestsDir: fx.manifestsDir,
    });
    workers.push(started);
    return started;
  }

  /** Deploys with `install` as the only install step, kills the worker once the step's processes run. */
  async function deployKillingTheWorker(install: string, token: string): Promise<void> {
    fx.manifest.steps = { install: [{ name: 'forking install', run: install, shell: true }] };
    fx.save();
    fx.stage('v1');
    const first = await worker();
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: 'v1' }],
    });
    await waitFor(async () => {
      const progress = await handle.query<Progress>('progress');
      if (progress.steps.find((s) => s.name === 'install: forking install')?.status !== 'running')
        throw new Error('install not running yet');
      if (processesMentioning(token).length < 2) throw new Error('the step has not forked yet');
    }, 60_000);
    await first.kill();
    workers.splice(workers.indexOf(first), 1);

    // Whatever the dead worker's step started is gone within a moment, long before any retry.
    await waitFor(
      async () => {
        const left = processesMentioning(token);
        if (left.length > 0) throw new Error(`still running after the worker died: ${left.join(', ')}`);
      },
      3_000,
      100,
    );

    await worker();
    const { report } = await runOutcome(temporal.client, handle.workflowId);
    expect(report.outcome).toBe('succeeded');
    expect(processesMentioning(token)).toEqual([]);
  }

  it("the issue's nested shell (sh -c 'sh -c \"sleep 6; touch done\"') runs once, on the retry", async () => {
    const done = path.join(fx.dir, 'nested-done');
    await deployKillingTheWorker(`sh -c "sleep 6; echo done >> ${done}"`, done);
    expect(linesOf(done)).toEqual(['done']);
  });

  it('a step that double-forks a daemon which calls setsid: nothing of it survives; the retry runs it once', async () => {
    const log = path.join(fx.dir, 'forks.log');
    await deployKillingTheWorker(
      `(setsid sh -c "sleep 4; echo daemon >> ${log}" > /dev/null 2>&1 &); sleep 5; echo main >> ${log}`,
      log,
    );
    expect(linesOf(log).sort()).toEqual(['daemon', 'main']);
  });

  it('a process service outlives the SIGKILLed worker that started it, and the next worker stops all of it', async () => {
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
    const deploy = async (ref: string) => {
      fx.stage(ref);
      const handle = await temporal.client.workflow.start('deploy', {
        taskQueue: fx.taskQueue,
        workflowId: appLockWorkflowId(fx.app),
        args: [{ app: fx.app, ref }],
      });
      return (await runOutcome(temporal.client, handle.workflowId)).report;
    };
    const first = await worker();
    expect((await deploy('v1')).outcome).toBe('succeeded');
    const helpers = processesMentioning(helper);
    expect(helpers).toHaveLength(1);

    await first.kill();
    workers.splice(workers.indexOf(first), 1);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await fx.serving()).toBe('v1');
    expect(processesMentioning(helper)).toEqual(helpers);

    await worker();
    expect((await deploy('v2')).outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v2');
    const now = processesMentioning(helper);
    expect(now).toHaveLength(1);
    expect(now).not.toEqual(helpers);
  });
});
