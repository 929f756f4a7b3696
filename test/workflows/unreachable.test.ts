import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId, backupWorkflowId, jobWorkflowId, restoreWorkflowId } from '../../src/common/names';
import { createBackupApp, type BackupApp } from '../support/backup-app';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createJobApp, type JobApp } from '../support/job-app';
import { createDatabase, queryColumn, waitFor } from '../support/postgres';
import { recordingHistories, saveHistory } from '../support/history';
import { runOutcome } from '../support/runs';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(120_000);

// A host whose worker is down (or was never started): the deploy must not wait forever holding the app's
// lock. It ends after the manifest's unreachableAfter with its own outcome, recorded and announced from the
// orchestration queue, and the next deploy may start.
describe('a deploy to a host nobody serves', () => {
  let fx: AppFixture;
  let orchestrator: TestWorker;
  let hostWorker: TestWorker | undefined;
  let webhook: HttpRecorder;
  let databaseUrl: string;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    [webhook, temporal] = await Promise.all([startHttpRecorder(() => ({ status: 200 })), connectClient()]);
    fx = await createAppFixture({ name: 'unreachable' });
    fx.manifest.unreachableAfter = '3s';
    fx.manifest.notify = { channels: [{ webhook: { urlEnv: 'UNREACHABLE_WEBHOOK_URL', format: 'json' } }] };
    fx.save();
    databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('unreachable'));
    process.env.UNREACHABLE_WEBHOOK_URL = `${webhook.url}/hooks`;
    // Workflows and orchestration activities only: nobody polls the app's host queue.
    orchestrator = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [],
      activities: { manifestsDir: fx.manifestsDir, databaseUrl },
    });
  });
  afterAll(async () => {
    delete process.env.UNREACHABLE_WEBHOOK_URL;
    await hostWorker?.stop();
    await orchestrator?.stop();
    await fx?.cleanup();
    await temporal?.close();
    await webhook?.close();
  });

  const deploy = async (ref: string) => {
    fx.stage(ref);
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref }],
    });
    return runOutcome(temporal.client, handle.workflowId);
  };

  it('ends as unreachable, recorded and announced, and releases the lock for the next deploy', async () => {
    const { report, failure } = await deploy('v1');
    expect(failure?.cause).toMatchObject({ type: 'DeployUnreachable' });
    expect(report.outcome).toBe('unreachable');
    expect(report.error).toContain(
      `host ${fx.host} is unreachable: no worker took its work from task queue runbook-host-${fx.host} within 3s`,
    );
    // The first host activity waited out the limit; every later one there failed at once.
    const waited = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
    expect(waited).toBeLessThan(30_000);

    expect(
      await queryColumn(databaseUrl, `SELECT outcome FROM runbook.runs WHERE workflow_id = '${report.workflowId}'`),
    ).toEqual(['unreachable']);
    const [hook] = await webhook.waitForRequests(1);
    expect(JSON.parse(hook.body)).toMatchObject({ event: 'deploy.unreachable', app: fx.app });

    hostWorker = await startTestWorker({
      taskQueue: uniqueName('unused'),
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
    const next = await deploy('v1');
    expect(next.report.outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v1');
  });
});

// Backups, restores and jobs whose host has no worker end the same way: after unreachableAfter, as
// `unreachable` (not `failed`), their later work there failing at once, recorded and announced (also to
// whoever listens for failures), the app's lock released.
describe('a backup, a restore and a job on a host nobody serves', () => {
  let backupApp: BackupApp;
  let jobApp: JobApp;
  let orchestrator: TestWorker;
  let webhook: HttpRecorder;
  let databaseUrl: string;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  const taskQueue = uniqueName('unreachable-runs');
  const notify = {
    on: ['failed'],
    channels: [{ webhook: { urlEnv: 'UNREACHABLE_RUNS_WEBHOOK_URL', format: 'json' } }],
  };

  beforeAll(async () => {
    [webhook, temporal] = await Promise.all([startHttpRecorder(() => ({ status: 200 })), connectClient()]);
    process.env.UNREACHABLE_RUNS_WEBHOOK_URL = `${webhook.url}/hooks`;
    databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('unreachable_runs'));
    backupApp = await createBackupApp({ prefix: 'unreachbk', extra: { unreachableAfter: '3s', notify } });
    jobApp = createJobApp({
      app: uniqueName('unreachjob'),
      host: uniqueName('host'),
      manifestsDir: backupApp.manifestsDir,
      notify,
    });
    const manifest = path.join(jobApp.manifestsDir, `${jobApp.app}.yaml`);
    writeFileSync(manifest, `${readFileSync(manifest, 'utf8')}unreachableAfter: 3s\n`);
    // Workflows and orchestration activities only: nobody polls either app's host queue.
    orchestrator = await startTestWorker({
      taskQueue,
      hosts: [],
      activities: { manifestsDir: backupApp.manifestsDir, databaseUrl },
    });
  });
  afterAll(async () => {
    delete process.env.UNREACHABLE_RUNS_WEBHOOK_URL;
    await orchestrator?.stop();
    await temporal?.close();
    await webhook?.close();
    for (const dir of [backupApp?.root, jobApp?.dir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Activities the run scheduled on a host's queue: the first waits out the limit, none after it. */
  const hostActivitiesScheduled = async (workflowId: string) =>
    ((await temporal.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).filter((e) =>
      e.activityTaskScheduledEventAttributes?.taskQueue?.name?.startsWith('runbook-host-'),
    ).length;

  const expectUnreachable = async (
    workflowId: string,
    kind: string,
    host: string,
    type: string,
    scheduledAtMost: number,
  ) => {
    const { report, failure } = await runOutcome(temporal.client, workflowId);
    expect(failure?.cause).toMatchObject({ type });
    expect(report.outcome).toBe('unreachable');
    expect(report.error).toContain(`host ${host} is unreachable`);
    expect(await hostActivitiesScheduled(workflowId)).toBeLessThanOrEqual(scheduledAtMost);
    expect(
      await queryColumn(databaseUrl, `SELECT outcome FROM runbook.runs WHERE workflow_id = '${workflowId}'`),
    ).toEqual(['unreachable']);
    await waitFor(async () => {
      const bodies = webhook.requests.map(
        (r) => JSON.parse(r.body) as { event: string; outcome: string; workflowId: string },
      );
      if (
        !bodies.some((b) => b.event === `${kind}.failed` && b.outcome === 'unreachable' && b.workflowId === workflowId)
      )
        throw new Error(`no ${kind} notification yet`);
    }, 30_000);
  };

  it('a backup of two targets ends as unreachable after one wait, announced to whoever listens for failures', async () => {
    const handle = await temporal.client.workflow.start('backup', {
      taskQueue,
      workflowId: backupWorkflowId(backupApp.app, undefined, 'unreachable'),
      args: [{ app: backupApp.app }],
    });
    await expectUnreachable(handle.workflowId, 'backup', backupApp.host, 'BackupUnreachable', 1);
  });

  it('a restore ends as unreachable and releases the app lock', async () => {
    const handle = await temporal.client.workflow.start('restore', {
      taskQueue,
      workflowId: restoreWorkflowId(backupApp.app, 'unreachable'),
      args: [{ app: backupApp.app, backup: 'uploads-20250101T000000Z' }],
    });
    await expectUnreachable(handle.workflowId, 'restore', backupApp.host, 'RestoreUnreachable', 1);
    const lock = await temporal.client.workflow.getHandle(appLockWorkflowId(backupApp.app)).describe();
    expect(lock.status.name).not.toBe('RUNNING');
  });

  it('a job over three dates ends as unreachable: no date waits after the first ones found the host gone', async () => {
    const handle = await temporal.client.workflow.start('job', {
      taskQueue,
      workflowId: jobWorkflowId(jobApp.app, 'daily-processor', 'unreachable'),
      args: [{ app: jobApp.app, job: 'daily-processor', from: '2025-12-01', to: '2025-12-03' }],
    });
    // Two dates at once (the job's concurrency) wait out the limit together; the third fails at once.
    await expectUnreachable(handle.workflowId, 'job', jobApp.host, 'JobUnreachable', 2);
    expect(jobApp.invocations()).toEqual([]);
  });
});

// Work queued behind a busy worker is not work for a missing one: a host whose only worker has one activity
// slot, held by a job date longer than unreachableAfter, runs the next date once the slot is free.
describe('a host whose worker is busy for longer than unreachableAfter', () => {
  let jobApp: JobApp;
  let orchestrator: TestWorker;
  let hostWorker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  const taskQueue = uniqueName('busy-host-runs');

  beforeAll(async () => {
    temporal = await connectClient();
    jobApp = createJobApp({
      app: uniqueName('busyjob'),
      host: uniqueName('host'),
      job: { run: ['/bin/sh', '-c', 'sleep 5; echo {{date}} >> dates.log'], retries: 0 },
      manifest: { unreachableAfter: '2s' },
    });
    orchestrator = await startTestWorker({
      taskQueue,
      hosts: [],
      activities: { manifestsDir: jobApp.manifestsDir },
    });
    hostWorker = await startTestWorker({
      taskQueue: uniqueName('unused'),
      hosts: [jobApp.host],
      activities: { manifestsDir: jobApp.manifestsDir },
      tuning: { maxConcurrentActivityTaskExecutions: 1 },
    });
  });
  afterAll(async () => {
    await hostWorker?.stop();
    await orchestrator?.stop();
    await temporal?.close();
    if (jobApp) rmSync(jobApp.dir, { recursive: true, force: true });
  });

  it('runs both dates of a job, the second after waiting out the limit behind the first', async () => {
    const handle = await temporal.client.workflow.start('job', {
      taskQueue,
      workflowId: jobWorkflowId(jobApp.app, 'daily-processor', 'busy'),
      args: [{ app: jobApp.app, job: 'daily-processor', from: '2025-12-01', to: '2025-12-02' }],
    });
    const { report, failure } = await runOutcome(temporal.client, handle.workflowId);
    if (recordingHistories()) saveHistory('job-busy-host-waited', handle.workflowId, handle.firstExecutionRunId);
    expect(report).toMatchObject({ outcome: 'succeeded' });
    expect(failure).toBeUndefined();
    expect(readFileSync(path.join(jobApp.dir, 'dates.log'), 'utf8').split('\n').filter(Boolean).sort()).toEqual([
      '2025-12-01',
      '2025-12-02',
    ]);
  });
});
