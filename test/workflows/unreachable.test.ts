import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createDatabase, queryColumn } from '../support/postgres';
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
