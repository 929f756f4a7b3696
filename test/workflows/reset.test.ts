import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId, jobWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createJobApp, type JobApp } from '../support/job-app';
import { runOutcome } from '../support/runs';
import { connectClient, startTestWorker, temporalCli, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(180_000);

/** `temporal workflow reset` of a run to its first workflow task; the new run's id. */
function resetToFirstTask(workflowId: string, runId: string): string {
  const reset = JSON.parse(
    temporalCli(
      ['workflow', 'reset'],
      [
        '--workflow-id',
        workflowId,
        '--run-id',
        runId,
        '--type',
        'FirstWorkflowTask',
        '--reason',
        'test: run again',
        '--output',
        'json',
      ],
    ),
  ) as { runId: string };
  expect(reset.runId).not.toBe(runId);
  return reset.runId;
}

// `temporal workflow reset` re-runs a deploy from its first workflow task under a new run id. What it built
// on disk must still be found under the same names: the same release, its step markers, one log line.
describe('a deploy reset with the Temporal CLI', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  const counter = () => path.join(fx.dir, 'installs.txt');

  beforeAll(async () => {
    temporal = await connectClient();
    fx = await createAppFixture();
    process.env.INSTALL_COUNTER = counter();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
  });
  afterAll(async () => {
    delete process.env.INSTALL_COUNTER;
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
  });

  const deploy = async (ref: string) => {
    fx.stage(ref);
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref }],
    });
    return { runId: handle.firstExecutionRunId, ...(await runOutcome(temporal.client, handle.workflowId)) };
  };
  const releases = () => readdirSync(path.join(fx.root, 'releases')).filter((n) => !n.startsWith('.'));

  it('finds its release, its step markers and its log line again; a later deploy gets a new id', async () => {
    const first = await deploy('v1');
    expect(first.report.outcome).toBe('succeeded');
    const resetRunId = resetToFirstTask(appLockWorkflowId(fx.app), first.runId);
    const again = await runOutcome(temporal.client, appLockWorkflowId(fx.app), resetRunId);
    expect(again.report.outcome).toBe('succeeded');
    expect(again.report.runId).toBe(resetRunId);
    expect(again.report.release).toBe(first.report.release);
    expect(releases()).toEqual([first.report.release]);
    expect(readFileSync(counter(), 'utf8').trim().split('\n')).toHaveLength(1);
    const log = readFileSync(path.join(fx.root, 'deploy_log.jsonl'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(1);
    expect(await fx.serving()).toBe('v1');

    const second = await deploy('v2');
    expect(second.report.outcome).toBe('succeeded');
    expect(second.report.release).not.toBe(first.report.release);
    expect(second.report.release!.slice(-8)).not.toBe(first.report.release!.slice(-8));
    expect(releases().sort()).toEqual([first.report.release, second.report.release].sort());
  });
});

// A job reset the same way is the same run: dates it finished are not run or sent again, and a date it
// sends again carries the idempotency key it had, so the receiving API can recognise it.
describe('a job reset with the Temporal CLI', () => {
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let api: HttpRecorder;
  let commandApp: JobApp;
  let httpApp: JobApp;
  let apiDown = true;
  const taskQueue = uniqueName('reset-job');

  beforeAll(async () => {
    temporal = await connectClient();
    api = await startHttpRecorder((request) =>
      apiDown && request.path.includes('2025-12-02') ? { status: 503, body: 'down' } : { status: 202 },
    );
    const host = uniqueName('etl');
    commandApp = createJobApp({ app: uniqueName('reset-etl'), host });
    httpApp = createJobApp({
      app: uniqueName('reset-api'),
      host,
      manifestsDir: commandApp.manifestsDir,
      job: {
        run: undefined,
        env: undefined,
        http: { url: `${api.url}/rotate?date={{date}}`, method: 'POST', expect: [202] },
      },
    });
    worker = await startTestWorker({ taskQueue, hosts: [host], activities: { manifestsDir: commandApp.manifestsDir } });
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await api?.close();
  });

  const runJob = async (app: JobApp) => {
    const handle = await temporal.client.workflow.start('job', {
      taskQueue,
      workflowId: jobWorkflowId(app.app, 'daily-processor', 'reset'),
      args: [{ app: app.app, job: 'daily-processor', from: '2025-12-01', to: '2025-12-02' }],
    });
    return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
  };

  it('runs no date of a command job twice', async () => {
    const { workflowId, runId } = await runJob(commandApp);
    expect((await runOutcome(temporal.client, workflowId, runId)).report.outcome).toBe('succeeded');
    const resetRunId = resetToFirstTask(workflowId, runId);
    const again = await runOutcome(temporal.client, workflowId, resetRunId);
    expect(again.report.outcome).toBe('succeeded');
    expect(again.report.runId).toBe(resetRunId);
    const dates = commandApp.invocations().map((argv) => argv[argv.indexOf('--data-inicio') + 1]);
    expect(dates.sort()).toEqual(['2025-12-01', '2025-12-02']);
  });

  it('sends a finished date of an HTTP job no more, a failed one again under the same idempotency key', async () => {
    const { workflowId, runId } = await runJob(httpApp);
    expect((await runOutcome(temporal.client, workflowId, runId)).report.outcome).toBe('failed');
    const keysOf = (date: string) =>
      api.requests.filter((r) => r.path === `/rotate?date=${date}`).map((r) => r.headers['idempotency-key']);
    expect(keysOf('2025-12-01')).toHaveLength(1);
    const [failedKey] = keysOf('2025-12-02');
    expect(failedKey).toBe(`${workflowId}/${runId}/2025-12-02`);

    apiDown = false;
    const resetRunId = resetToFirstTask(workflowId, runId);
    expect((await runOutcome(temporal.client, workflowId, resetRunId)).report.outcome).toBe('succeeded');
    expect(keysOf('2025-12-01')).toHaveLength(1);
    expect(new Set(keysOf('2025-12-02'))).toEqual(new Set([failedKey]));
    expect(keysOf('2025-12-02').length).toBeGreaterThan(1);
  });
});
