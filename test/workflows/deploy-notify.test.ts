import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createDatabase } from '../support/postgres';
import { runOutcome } from '../support/runs';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

describe('a deploy announces its outcome through the manifest notify channels', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let smtp: TestSmtpServer;
  let webhook: HttpRecorder;

  beforeAll(async () => {
    [smtp, webhook, temporal] = await Promise.all([
      startSmtpServer(),
      startHttpRecorder(() => ({ status: 200, body: 'ok' })),
      connectClient(),
    ]);
    fx = await createAppFixture({ name: 'notify-demo' });
    fx.manifest.notify = {
      on: ['rolled_back', 'failed'],
      channels: [
        { email: { via: 'smtp', toEnv: 'NOTIFICATION_RECIPIENTS', fromEnv: 'SMTP_FROM' } },
        { webhook: { urlEnv: 'MONITORING_WEBHOOK_URL', format: 'slack' } },
      ],
    };
    fx.save();
    const databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('deploy-notify'));
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
    await Promise.all([smtp?.close(), webhook?.close()]);
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

  it('mails and calls the webhook when a deploy is rolled back, and stays quiet for a success the manifest did not ask about', async () => {
    expect((await deploy('v1', 'ok')).report.outcome).toBe('succeeded');
    expect(smtp.mails).toHaveLength(0);
    expect(webhook.requests).toHaveLength(0);

    const { report } = await deploy('v2', 'http500');
    expect(report.outcome).toBe('rolled_back');

    const link = `${process.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${encodeURIComponent(report.workflowId)}/${report.runId}/history`;
    const [mail] = await smtp.waitForMails(1);
    expect(smtp.mails).toHaveLength(1);
    // The subject names app, action and outcome, then as much of the summary as a subject line holds.
    expect(
      mail.subject?.startsWith(`[runbook] ${fx.app}: deploy v2 ROLLED BACK — rolled back deploy of ${fx.app} v2`),
    ).toBe(true);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('oncall@almareia.example');
    expect(mail.text).toContain('What went wrong:');
    expect(mail.text).toContain('answered 500');
    expect(mail.text).toMatch(/FAILED\s+health: home/);
    expect(mail.text).toContain(link);
    expect(mail.html).toContain(`<a href="${link}">`);

    const calls = await webhook.waitForRequests(1);
    expect(calls).toHaveLength(1);
    expect(calls[0].path).toBe('/hooks/deploys');
    expect(calls[0].headers['idempotency-key']).toBe(
      `${report.workflowId}/${report.runId}/deploy.rolled_back/webhook-MONITORING_WEBHOOK_URL`,
    );
    const slack = JSON.parse(calls[0].body);
    expect(slack.text).toBe(`${fx.app}: deploy v2 ROLLED BACK: ${report.summary.split('\n')[0]}`);
    expect(slack.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: `${fx.app}: deploy v2 ROLLED BACK` },
    });
    expect(JSON.stringify(slack.blocks)).toContain(link);
  }, 120_000);
});
