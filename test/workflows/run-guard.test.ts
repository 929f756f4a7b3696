import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { activityConfigFromEnv, createActivities } from '../../src/activities';
import { hostTaskQueue, appLockWorkflowId } from '../../src/common/names';
import { runWorkers } from '../../src/workers/worker';
import type { RunReport } from '../../src/common/progress';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { connectClient, quietRuntime, temporalAddress, uniqueName } from '../support/temporal';

/** A bug in workflow code (here a TypeError) fails the run at once, with what any failed run gets. */
describe('an unexpected error in workflow code fails the run instead of retrying its task forever', () => {
  let fx: AppFixture;
  let webhook: HttpRecorder;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let connection: NativeConnection;
  let workers: Worker[];
  let running: Promise<unknown>;

  beforeAll(async () => {
    quietRuntime();
    [webhook, temporal, fx] = await Promise.all([
      startHttpRecorder(() => ({ status: 200 })),
      connectClient(),
      createAppFixture({ name: 'bug' }),
    ]);
    fx.manifest.notify = { on: ['failed'], channels: [{ webhook: { urlEnv: 'ALERTS_URL' } }] };
    fx.save();
    const activities = createActivities({
      ...activityConfigFromEnv(),
      manifestsDir: fx.manifestsDir,
      env: { ...process.env, ALERTS_URL: `${webhook.url}/alerts` },
    });
    connection = await NativeConnection.connect({ address: temporalAddress() });
    const common = { connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', activities };
    workers = [
      await Worker.create({
        ...common,
        taskQueue: fx.taskQueue,
        workflowsPath: require.resolve('../support/bug-workflows'),
      }),
      await Worker.create({ ...common, taskQueue: hostTaskQueue(fx.host) }),
    ];
    running = runWorkers(workers);
  });
  afterAll(async () => {
    for (const w of workers ?? []) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
    await connection?.close();
    await Promise.all([webhook?.close(), temporal?.close(), fx?.cleanup()]);
  });

  async function failureOf(type: string, workflowId: string, args: unknown[]) {
    const handle = await temporal.client.workflow.start(type, { taskQueue: fx.taskQueue, workflowId, args });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const history = await handle.fetchHistory();
    const failedTasks = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
    return { failure: (error as WorkflowFailedError).cause as ApplicationFailure, failedTasks, handle };
  }

  it('through failOnBug: a report with the steps so far, the deploy log line, the alert; the lock is free', async () => {
    const { failure, failedTasks, handle } = await failureOf('deploy', appLockWorkflowId(fx.app), [{ app: fx.app }]);
    expect(failedTasks).toBe(0);
    expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({
      type: 'WorkflowBug',
      nonRetryable: true,
    });
    expect(failure.message).toContain(
      `deploy of ${fx.app} FAILED: unexpected error in Runbook's workflow code (TypeError`,
    );
    const report = failure.details?.[0] as RunReport;
    expect(report).toMatchObject({ kind: 'deploy', app: fx.app, outcome: 'failed' });
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([['load manifest', 'succeeded']]);

    const logged = readFileSync(path.join(fx.root, 'deploy_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(logged).toEqual([expect.objectContaining({ workflowId: handle.workflowId, outcome: 'failed' })]);
    const [alert] = await webhook.waitForRequests(1);
    expect(alert.path).toBe('/alerts');
    expect(JSON.parse(alert.body)).toMatchObject({ event: 'deploy.failed' });
    expect((await handle.describe()).status.name).toBe('FAILED');
  });

  it('without it, the run still fails at once (failureExceptionTypes) rather than retrying its task', async () => {
    const { failure, failedTasks } = await failureOf('bare', uniqueName('bare'), []);
    expect(failedTasks).toBe(0);
    expect(failure.message).toContain('Cannot read properties of undefined');
  });
});
