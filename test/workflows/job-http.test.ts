import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import type { RunReport } from '../../src/common/progress';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createJobApp, type JobApp } from '../support/job-app';
import { createDatabase } from '../support/postgres';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

describe('HTTP job workflow (a local API stands in for the app)', () => {
  const taskQueue = uniqueName('job-http');
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let db: PgClient;
  let api: HttpRecorder;
  let app: JobApp;
  let worker: TestWorker;

  beforeAll(async () => {
    const databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('jobs-http'));
    db = new PgClient({ connectionString: databaseUrl });
    await db.connect();
    api = await startHttpRecorder((request) =>
      request.path.includes('2025-12-02')
        ? { status: 500, body: 'rotation store unavailable' }
        : { status: 202, body: 'queued' },
    );
    app = createJobApp({
      app: uniqueName('secretaria'),
      host: uniqueName('api-host'),
      job: {
        run: undefined,
        env: undefined,
        http: {
          url: `${api.url}/admin/rotate?date={{date}}&tenant={{tenant}}`,
          method: 'POST',
          body: { date: '{{date}}', mode: '{{mode}}' },
          expect: [202],
        },
        params: { tenant: { required: true, pattern: '[a-z0-9-]+' } },
        modes: ['auto'],
        defaultMode: 'auto',
      },
    });
    worker = await startTestWorker({
      taskQueue,
      hosts: [app.host],
      activities: { manifestsDir: app.manifestsDir, databaseUrl },
    });
    temporal = await connectClient();
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await db?.end();
    await api?.close();
  });

  it('sends one request per date with its own idempotency key, records the HTTP status and keeps going after a failed date', async () => {
    const workflowId = uniqueName('job-http-range');
    const error = await temporal.client.workflow
      .execute('job', {
        taskQueue,
        workflowId,
        args: [
          { app: app.app, job: 'daily-processor', from: '2025-12-01', to: '2025-12-03', params: { tenant: 'acme' } },
        ],
      })
      .catch((e: unknown) => e);

    const report = ((error as WorkflowFailedError).cause as ApplicationFailure).details?.[0] as RunReport;
    expect(report.steps.map((s) => [s.name, s.status, s.status === 'succeeded' ? s.message : undefined])).toEqual([
      ['2025-12-01', 'succeeded', 'HTTP 202'],
      ['2025-12-02', 'failed', undefined],
      ['2025-12-03', 'succeeded', 'HTTP 202'],
    ]);
    expect(report.error).toContain('answered 500, expected 202:\nrotation store unavailable');

    const calls = api.requests.filter((r) => String(r.headers['idempotency-key']).startsWith(`${workflowId}/`));
    const byDate = (date: string) => calls.filter((c) => c.path === `/admin/rotate?date=${date}&tenant=acme`);
    expect(byDate('2025-12-01')).toHaveLength(1);
    expect(byDate('2025-12-02')).toHaveLength(2);
    expect(new Set(byDate('2025-12-02').map((c) => c.headers['idempotency-key'])).size).toBe(1);
    expect(JSON.parse(byDate('2025-12-03')[0].body)).toEqual({ date: '2025-12-03', mode: 'auto' });

    const { rows } = await db.query(
      `SELECT date::text, status, http_status, stdout_tail FROM runbook.job_operation_log WHERE workflow_id = $1 ORDER BY date`,
      [workflowId],
    );
    expect(rows).toEqual([
      { date: '2025-12-01', status: 'OK', http_status: 202, stdout_tail: 'queued' },
      { date: '2025-12-02', status: 'FAILED', http_status: 500, stdout_tail: 'rotation store unavailable' },
      { date: '2025-12-03', status: 'OK', http_status: 202, stdout_tail: 'queued' },
    ]);
  });

  it('refuses a parameter that does not match its pattern, naming it', async () => {
    const error = await temporal.client.workflow
      .execute('job', {
        taskQueue,
        workflowId: uniqueName('job-http-bad'),
        args: [{ app: app.app, job: 'daily-processor', params: { tenant: 'ACME/..' } }],
      })
      .catch((e: unknown) => e);
    expect(((error as WorkflowFailedError).cause as ApplicationFailure).message).toBe(
      `the job ${app.app}/daily-processor cannot start: params.tenant: 'ACME/..' does not match the pattern [a-z0-9-]+`,
    );
  });
});
