import { Client as PgClient } from 'pg';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createJobApp, type JobApp } from '../support/job-app';
import { createDatabase } from '../support/postgres';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { connectClient, uniqueName } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

describe('notify after a worker crash (real worker processes, SIGKILL)', () => {
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let db: PgClient;
  let databaseUrl: string;
  let smtp: TestSmtpServer;
  let webhook: HttpRecorder;
  let app: JobApp;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('notify-crash'));
    db = new PgClient({ connectionString: databaseUrl });
    await db.connect();
    smtp = await startSmtpServer();
    // The first webhook call never gets an answer: the worker is killed while it waits.
    webhook = await startHttpRecorder((_request, index) => (index === 0 ? 'hang' : { status: 204 }));
    app = createJobApp({
      app: uniqueName('crash-etl'),
      host: uniqueName('crash-host'),
      env: {
        SMTP_HOST: smtp.host,
        SMTP_PORT: String(smtp.port),
        SMTP_FROM: 'runbook@example.com',
        NOTIFICATION_RECIPIENTS: 'oncall@example.com',
        MONITORING_WEBHOOK_URL: `${webhook.url}/hooks/runbook`,
      },
      notify: {
        on: ['job.summary'],
        channels: [{ email: { via: 'smtp', fromEnv: 'SMTP_FROM' } }, { webhook: { urlEnv: 'MONITORING_WEBHOOK_URL' } }],
      },
    });
    temporal = await connectClient();
  });
  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await temporal?.close();
    await db?.end();
    await Promise.all([smtp?.close(), webhook?.close()]);
  });

  it('does not send again what an attempt recorded as sent before its worker was SIGKILLed', async () => {
    const taskQueue = uniqueName('notify-crash');
    const start = () =>
      startWorkerProcess({
        taskQueue,
        hosts: [app.host],
        manifestsDir: app.manifestsDir,
        env: { RUNBOOK_DATABASE_URL: databaseUrl },
      });
    workers.push(await start());
    const workflowId = uniqueName('job-notify-crash');
    const handle = await temporal.client.workflow.start('job', {
      taskQueue,
      workflowId,
      args: [{ app: app.app, job: 'daily-processor', date: '2025-12-01' }],
    });

    // The attempt mailed (and recorded it), then hangs on the webhook: kill its worker right there.
    await webhook.waitForRequests(1);
    expect(smtp.mails).toHaveLength(1);
    const { rows: before } = await db.query(
      `SELECT channel, status FROM runbook.notifications WHERE workflow_id = $1`,
      [workflowId],
    );
    expect(before).toEqual([{ channel: 'email-smtp', status: 'sent' }]);
    await workers[0].kill();

    workers.push(await start());
    const report = await handle.result();

    expect(report.outcome).toBe('succeeded');
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.attempts()).toBe(1);
    const calls = await webhook.waitForRequests(2);
    expect(calls).toHaveLength(2);
    const key = `${workflowId}/${report.runId}/job.summary/webhook-MONITORING_WEBHOOK_URL`;
    expect(calls.map((c) => [c.method, c.path, c.headers['idempotency-key']])).toEqual([
      ['POST', '/hooks/runbook', key],
      ['POST', '/hooks/runbook', key],
    ]);
    expect(JSON.parse(calls[1].body)).toMatchObject({
      event: 'job.summary',
      app: app.app,
      outcome: 'succeeded',
      workflowId,
      idempotencyKey: key,
    });
    const { rows: after } = await db.query(
      `SELECT channel, status, attempts FROM runbook.notifications WHERE workflow_id = $1 ORDER BY channel`,
      [workflowId],
    );
    expect(after).toEqual([
      { channel: 'email-smtp', status: 'sent', attempts: 1 },
      { channel: 'webhook-MONITORING_WEBHOOK_URL', status: 'sent', attempts: 1 },
    ]);
  }, 90_000);
});
