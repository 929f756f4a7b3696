import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/names';
import { freePort } from '../../src/devserver/ports';
import type { Progress } from '../../src/common/progress';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { createDatabase, waitFor } from '../support/postgres';
import { connectClient, uniqueName } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import { runOutcome as deployOutcome } from '../support/runs';

// Real worker processes (the compiled worker, as production runs it), killed with SIGKILL mid-deploy.
describe('deploy survives worker crashes', () => {
  let fx: AppFixture;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    temporal = await connectClient();
  });
  afterAll(async () => temporal?.close());
  beforeEach(async () => {
    fx = await createAppFixture();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await fx.cleanup();
  });

  async function worker(
    env: NodeJS.ProcessEnv = {},
    hosts = [fx.host],
    extra: Partial<Parameters<typeof startWorkerProcess>[0]> = {},
  ): Promise<WorkerProcess> {
    const started = await startWorkerProcess({
      taskQueue: fx.taskQueue,
      hosts,
      manifestsDir: fx.manifestsDir,
      env,
      ...extra,
    });
    workers.push(started);
    return started;
  }

  async function waitForStep(workflowId: string, name: string, status: string): Promise<void> {
    await waitFor(
      async () => {
        const progress = await temporal.client.workflow.getHandle(workflowId).query<Progress>('progress');
        const step = progress.steps.find((s) => s.name === name);
        if (step?.status !== status) throw new Error(`${name} is ${step?.status}`);
      },
      60_000,
      200,
    );
  }

  const currentRelease = () => path.basename(readlinkSync(path.join(fx.root, 'current')));

  it('a worker SIGKILLed during a long install is replaced and the deploy finishes: one snapshot, one release, one record, one finished install', async () => {
    const databaseUrl = await createDatabase(
      process.env.RUNBOOK_TEST_PG_URL!,
      uniqueName('crashdb').replace(/-/g, '_'),
    );
    fx.manifest.snapshot = { database: { urlEnv: 'APP_DATABASE_URL' } };
    fx.save();
    const counter = path.join(fx.dir, 'installs.txt');
    const env = { INSTALL_SECONDS: '6', INSTALL_COUNTER: counter, APP_DATABASE_URL: databaseUrl };
    const first = await worker(env);
    fx.stage('v1');
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: 'v1' }],
    });
    await waitForStep(handle.workflowId, 'install: install dependencies', 'running');
    await new Promise((r) => setTimeout(r, 1_500)); // well inside the 6 s install
    await first.kill();
    workers.splice(workers.indexOf(first), 1);
    await worker(env);

    const { report } = await deployOutcome(temporal.client, handle.workflowId);
    expect(report.outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v1');
    expect(readdirSync(path.join(fx.root, 'releases')).filter((n) => !n.startsWith('.'))).toHaveLength(1);
    expect(readdirSync(path.join(fx.root, '.runbook', 'snapshots'))).toHaveLength(1);
    expect(readFileSync(path.join(fx.root, 'deploy_log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
    const history = await temporal.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const retried = history.events?.some(
      (e) => e.activityTaskStartedEventAttributes?.attempt && e.activityTaskStartedEventAttributes.attempt > 1,
    );
    expect(retried).toBe(true);
  });

  it('a worker SIGKILLed during the rollback is replaced and the next one finishes it', async () => {
    const current = await worker();
    fx.stage('v1');
    await deployOutcome(
      temporal.client,
      (
        await temporal.client.workflow.start('deploy', {
          taskQueue: fx.taskQueue,
          workflowId: appLockWorkflowId(fx.app),
          args: [{ app: fx.app, ref: 'v1' }],
        })
      ).workflowId,
    );
    const v1 = currentRelease();

    fx.stage('v2', { behavior: 'http500' });
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: 'v2' }],
    });
    await waitFor(
      async () => {
        const progress = await handle.query<Progress>('progress');
        if (progress.state !== 'compensating') throw new Error(progress.state);
      },
      60_000,
      100,
    );
    await current.kill();
    workers.splice(workers.indexOf(current), 1);
    await worker();

    const { report } = await deployOutcome(temporal.client, handle.workflowId);
    expect(report.outcome).toBe('rolled_back');
    expect(currentRelease()).toBe(v1);
    expect(await fx.serving()).toBe('v1');
  });

  it('two hosts: a failure on the second rolls back the first, which serves the previous version again', async () => {
    // Each host is a worker process with its own view of the filesystem (a private mount namespace), so
    // the two hosts keep separate release folders under the same manifest root, as two servers would.
    const hostB = uniqueName('host-b');
    fx.manifest.host = undefined;
    delete fx.manifest.host;
    fx.manifest.hosts = [fx.host, hostB];
    // Both hosts share this machine's network, so each app listens on the PORT of its host's worker.
    fx.manifest.services = [
      { name: 'web', type: 'process', start: ['python3', 'app.py'], log: 'app.log', stopTimeout: '5s' },
    ];
    fx.save();
    const portOfB = String(await freePort());
    const srvOfB = path.join(fx.dir, 'host-b-srv');
    mkdirSync(srvOfB, { recursive: true });
    mkdirSync(path.join(fx.dir, 'srv'), { recursive: true });
    const onHostB = (env: NodeJS.ProcessEnv) =>
      worker(env, [hostB], {
        orchestrate: false,
        wrap: [
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount --bind "${srvOfB}" "${path.join(fx.dir, 'srv')}" && exec "$@"`,
          'sh',
        ],
      });
    await worker({ PORT: String(fx.port) }, [fx.host]);
    const b = await onHostB({ PORT: portOfB });

    fx.stage('v1');
    const first = await deployOutcome(
      temporal.client,
      (
        await temporal.client.workflow.start('deploy', {
          taskQueue: fx.taskQueue,
          workflowId: appLockWorkflowId(fx.app),
          args: [{ app: fx.app, ref: 'v1' }],
        })
      ).workflowId,
    );
    expect(first.report.outcome).toBe('succeeded');
    const v1 = currentRelease();
    expect(existsSync(path.join(srvOfB, fx.app, 'current'))).toBe(true);

    await b.stop();
    workers.splice(workers.indexOf(b), 1);
    await onHostB({ PORT: portOfB, INSTALL_FAIL: '1' });
    fx.stage('v2');
    const second = await deployOutcome(
      temporal.client,
      (
        await temporal.client.workflow.start('deploy', {
          taskQueue: fx.taskQueue,
          workflowId: appLockWorkflowId(fx.app),
          args: [{ app: fx.app, ref: 'v2' }],
        })
      ).workflowId,
    );
    expect(second.report.outcome).toBe('rolled_back');
    expect(second.report.error).toMatch(
      new RegExp(`${hostB}: install: install dependencies|install step 'install dependencies' exited with status 1`),
    );
    const steps = second.report.steps.map((s) => `${s.name}: ${s.status}`);
    expect(steps).toEqual(
      expect.arrayContaining([
        `${fx.host}: health: home (http://127.0.0.1:${fx.port}/): succeeded`,
        `${fx.host}: stop services and switch back to ${v1}: succeeded`,
      ]),
    );
    expect(currentRelease()).toBe(v1);
    expect(await fx.serving()).toBe('v1');
  });
});
