import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { pidsListeningOn } from '../../src/activities/services/ports';
import { appLockWorkflowId } from '../../src/common/names';
import type { Progress } from '../../src/common/progress';
import { freePort } from '../../src/devserver/ports';
import { demoManifest, servingVersion, stageDemoApp } from '../../src/devserver/demo-app';
import { PROJECT_ROOT } from '../support/containers';
import { waitFor } from '../support/postgres';
import { linesOf, processesMentioning } from '../support/processes';
import { runOutcome } from '../support/runs';
import { seedMachine, seedScratchDir } from '../support/seed-services';
import { connectClient, uniqueName } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const UNIT = path.join(PROJECT_ROOT, 'deploy', 'systemd', 'runbook-worker@.service');

// The shipped unit under a real systemd (PID 1 of the seed suite's machine): the host worker runs as the
// user `runbook` with its delegated cgroup and private state folder (leases and attempt locks); restarting or crashing it leaves the
// app's `process` service serving, and a crash mid-step leaves nothing of the step running.
describe('deploy/systemd/runbook-worker@.service on systemd', () => {
  const machine = seedMachine();
  const dir = seedScratchDir(uniqueName('unit'));
  const host = uniqueName('unit-host').toLowerCase();
  const unit = `runbook-worker@${host}.service`;
  const app = uniqueName('unitapp').toLowerCase();
  const root = path.join(dir, 'srv', app);
  const staging = path.join(dir, 'staging', app);
  const manifestsDir = path.join(dir, 'apps');
  const taskQueue = uniqueName('unit-q');
  const done = path.join(dir, 'install-done');
  const slow = path.join(dir, 'slow');
  let port: number;
  let orchestration: WorkerProcess;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  const inMachine = async (...argv: string[]) => {
    const result = await machine.exec(argv);
    if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr || result.stdout}`);
    return result.stdout.trim();
  };
  const mainPid = async () => inMachine('systemctl', 'show', '-p', 'MainPID', '--value', unit);
  const deploy = async (ref: string) => {
    stageDemoApp(staging, ref);
    return temporal.client.workflow.start('deploy', {
      taskQueue,
      workflowId: appLockWorkflowId(app),
      args: [{ app, ref }],
    });
  };
  const serving = () => servingVersion(`http://127.0.0.1:${port}`);

  beforeAll(async () => {
    temporal = await connectClient();
    port = await freePort();
    mkdirSync(manifestsDir, { recursive: true });
    const manifest = demoManifest({ app, host, root, staging, port, within: '20s' });
    // A slow install that forks (the nested shell of issue #10), to crash the worker in the middle of it.
    (manifest.steps as Record<string, unknown[]>).install.push({
      name: 'slow install',
      run: `sh -c "if [ -e ${slow} ]; then sleep 10; fi; echo done >> ${done}"`,
      shell: true,
    });
    writeFileSync(path.join(manifestsDir, `${app}.yaml`), stringify(manifest));
    await inMachine('sh', '-c', 'id runbook >/dev/null 2>&1 || useradd --system --no-create-home runbook');
    await inMachine('chown', '-R', 'runbook:runbook', dir);
    // Another user's folder where a worker not running as root used to keep its attempt locks (a predictable
    // name in the world-writable /tmp): it must neither stop the worker nor hold anything of Runbook's.
    await inMachine('sh', '-c', 'install -d -o nobody -m 0777 "/tmp/runbook-locks-$(id -u runbook)"');
    await machine.writeFile(`/etc/systemd/system/runbook-worker@.service`, readFileSync(UNIT, 'utf8'));
    await machine.writeFile(
      `/etc/systemd/system/${unit}.d/test.conf`,
      [
        '[Service]',
        'ExecStart=',
        `ExecStart=${process.execPath} ${path.join(PROJECT_ROOT, 'dist', 'workers', 'main.js')}`,
        `Environment=TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS}`,
        `Environment=TEMPORAL_NAMESPACE=${process.env.TEMPORAL_NAMESPACE}`,
        `Environment=RUNBOOK_MANIFESTS=${manifestsDir}`,
        `Environment=RUNBOOK_TASK_QUEUE=${taskQueue}`,
      ].join('\n'),
    );
    await inMachine('systemctl', 'daemon-reload');
    await inMachine('systemctl', 'start', unit);
    orchestration = await startWorkerProcess({ taskQueue, hosts: [], manifestsDir, orchestrate: true });
  }, 120_000);

  afterAll(async () => {
    await machine.exec(['systemctl', 'stop', unit]);
    for (const pid of pidsListeningOn(port ?? 0)) process.kill(pid, 'SIGKILL');
    await orchestration?.stop();
    await temporal?.close();
  });

  it('runs the worker as the user runbook, with its private state folder, and deploys', async () => {
    await waitFor(
      async () => expect(await inMachine('journalctl', '-u', unit, '--no-pager')).toContain('task queues'),
      30_000,
    );
    // Its delegated cgroup (Delegate=yes) holds the commands it runs.
    expect(await inMachine('journalctl', '-u', unit, '--no-pager')).toContain('commands run in cgroups under');
    expect(await inMachine('ps', '-o', 'user=', '-p', await mainPid())).toBe('runbook');
    expect(await inMachine('stat', '-c', '%U %a', `/var/lib/runbook/${host}`)).toBe('runbook 700');
    // The attempt locks live in the private state folder too.
    expect(await inMachine('stat', '-c', '%U %a', `/var/lib/runbook/${host}/locks`)).toBe('runbook 700');
    const { report } = await runOutcome(temporal.client, (await deploy('v1')).workflowId);
    expect(report.outcome).toBe('succeeded');
    expect(await serving()).toBe('v1');
  }, 120_000);

  it("a restart and a crash of the worker leave the app's process service serving", async () => {
    const [app] = pidsListeningOn(port);
    expect(app).toBeDefined();
    const before = await mainPid();
    await inMachine('systemctl', 'restart', unit);
    expect(await mainPid()).not.toBe(before);
    expect(pidsListeningOn(port)).toEqual([app]);

    await inMachine('systemctl', 'kill', '--kill-whom=main', '--signal=KILL', unit);
    await waitFor(async () => expect(await inMachine('systemctl', 'is-active', unit)).toBe('active'), 30_000);
    expect(pidsListeningOn(port)).toEqual([app]);
    expect(await serving()).toBe('v1');
  }, 120_000);

  it('a worker crash in the middle of a step leaves nothing of the step running; systemd restarts it and the retry installs once', async () => {
    writeFileSync(slow, '');
    const handle = await deploy('v2');
    await waitFor(async () => {
      const progress = await handle.query<Progress>('progress');
      if (progress.steps.find((s) => s.name === 'install: slow install')?.status !== 'running')
        throw new Error('the slow install has not started');
      if (processesMentioning(done).length < 2) throw new Error('the step has not forked yet');
    }, 60_000);
    rmSync(slow);
    await inMachine('systemctl', 'kill', '--kill-whom=main', '--signal=KILL', unit);
    await waitFor(
      async () => {
        const left = processesMentioning(done);
        if (left.length > 0) throw new Error(`still running: ${left.join(', ')}`);
      },
      5_000,
      100,
    );
    const { report } = await runOutcome(temporal.client, handle.workflowId);
    expect(report.outcome).toBe('succeeded');
    expect(linesOf(done)).toEqual(['done', 'done']); // v1's install, then v2's once
    expect(await serving()).toBe('v2');
  }, 180_000);
});
