import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createDatabase, startPostgres, stopPostgres, type PostgresInstance } from '../support/postgres';
import { runOutcome } from '../support/runs';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { connectClient, startTestWorker, type TestWorker } from '../support/temporal';

/**
 * The sent ledger (the audit database) is down at 3 a.m. exactly when a deploy fails: the alert must still go
 * out. Its own PostgreSQL cluster, stopped in the middle of the test.
 */
describe('notifications fail open when the sent ledger cannot be read', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let smtp: TestSmtpServer;
  let webhook: HttpRecorder;
  let audit: PostgresInstance | undefined;

  beforeAll(async () => {
    [smtp, webhook, temporal, audit] = await Promise.all([
      startSmtpServer(),
      startHttpRecorder(() => ({ status: 200, body: 'ok' })),
      connectClient(),
      startPostgres(),
    ]);
    fx = await createAppFixture({ name: 'ledger-down' });
    fx.manifest.notify = {
      on: ['rolled_back', 'failed'],
      channels: [
        { email: { via: 'smtp', toEnv: 'NOTIFICATION_RECIPIENTS', fromEnv: 'SMTP_FROM' } },
        { webhook: { urlEnv: 'MONITORING_WEBHOOK_URL', format: 'json' } },
      ],
    };
    fx.save();
    const databaseUrl = await createDatabase(audit.url, 'runbook_audit');
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: {
        manifestsDir: fx.manifestsDir,
        databaseUrl,
        env: {
          ...process.env,
          SMTP_HOST: smtp.host,
          SMTP_PORT: String(smtp.port),
          SMTP_FROM: 'deploys@almareia.example',
          NOTIFICATION_RECIPIENTS: 'oncall@almareia.example',
          MONITORING_WEBHOOK_URL: `${webhook.url}/hooks/deploys`,
        },
      },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
    await Promise.all([smtp?.close(), webhook?.close(), audit && stopPostgres(audit)]);
  });

  async function deploy(version: string, behavior: 'ok' | 'http500') {
    fx.stage(version, { behavior });
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: version }],
    });
    return runOutcome(temporal.client, handle.workflowId);
  }

  it('with the audit database stopped, a rolled-back deploy still delivers its webhook and its mail', async () => {
    expect((await deploy('v1', 'ok')).report.outcome).toBe('succeeded');
    await stopPostgres(audit as PostgresInstance);
    audit = undefined;

    const { report } = await deploy('v2', 'http500');
    expect(report.outcome).toBe('rolled_back');
    const [mail] = await smtp.waitForMails(1);
    expect(mail.subject).toContain(`${fx.app}: deploy v2 ROLLED BACK`);
    const [call] = await webhook.waitForRequests(1);
    expect(call.headers['idempotency-key']).toBe(
      `${report.workflowId}/${report.runId}/deploy.rolled_back/webhook-MONITORING_WEBHOOK_URL`,
    );
    expect(smtp.mails).toHaveLength(1);
    expect(webhook.requests).toHaveLength(1);
  }, 180_000);
});
