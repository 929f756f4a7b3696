import { MockActivityEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { auditActivities, type JobOperation, type JobSession, type JobSessionEnd } from '../../../src/activities/audit';
import { activityConfigFromEnv } from '../../../src/activities/config';
import type { RunReport } from '../../../src/common/progress';
import { createDatabase } from '../../support/postgres';
import { uniqueName } from '../../support/temporal';

const session: JobSession = {
  workflowId: 'job-financial-etl-daily-processor-1',
  runId: 'run-1',
  app: 'financial-etl',
  job: 'daily-processor',
  mode: 'auto',
  from: '2025-12-01',
  to: '2025-12-02',
  dates: 2,
  params: {},
  startedAt: '2025-12-03T10:00:00.000Z',
};

const failedDate: JobOperation = {
  date: '2025-12-02',
  status: 'FAILED',
  exitCode: 3,
  durationMs: 812,
  attempts: 2,
  startedAt: '2025-12-03T10:00:01.000Z',
  finishedAt: '2025-12-03T10:00:05.000Z',
  message: 'daily-processor for 2025-12-02 exited with status 3',
  stdoutTail: 'processing\u0000 2025-12-02',
  stderrTail: 'divergence source missing',
};

const report: RunReport = {
  kind: 'deploy',
  app: 'almareia',
  outcome: 'rolled_back',
  workflowId: 'deploy-almareia',
  runId: 'run-7',
  startedAt: '2025-12-03T10:00:00.000Z',
  finishedAt: '2025-12-03T10:02:00.000Z',
  summary: 'v1.4 rolled back: health check /login answered 500',
  steps: [{ name: 'health', status: 'failed', durationMs: 60_000, message: '/login answered 500' }],
  error: 'health check /login answered 500',
  ref: 'v1.4',
};

describe('audit records', () => {
  let url: string;
  let db: Client;
  beforeAll(async () => {
    url = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('audit-records'));
    db = new Client({ connectionString: url });
    await db.connect();
  });
  afterAll(() => db?.end());

  it('writes a session, its operations and its end once, however often an activity is retried', async () => {
    const audit = auditActivities({ ...activityConfigFromEnv({}), databaseUrl: url, uiUrl: 'http://ui:8233' });
    const env = new MockActivityEnvironment();
    for (let attempt = 0; attempt < 2; attempt++) {
      const opened = await env.run(audit.openJobSession, session);
      expect(opened).toEqual({
        recorded: true,
        url: 'http://ui:8233/namespaces/default/workflows/job-financial-etl-daily-processor-1/run-1/history',
      });
      await env.run(audit.recordJobOperation, { session, operation: failedDate });
      const end: JobSessionEnd = {
        status: 'FAILED',
        datesOk: 1,
        datesFailed: 1,
        finishedAt: '2025-12-03T10:00:06.000Z',
      };
      await env.run(audit.closeJobSession, { session, end });
    }
    const { rows: sessions } = await db.query(`SELECT status, dates_ok, dates_failed, url FROM runbook.job_sessions`);
    expect(sessions).toEqual([
      {
        status: 'FAILED',
        dates_ok: 1,
        dates_failed: 1,
        url: 'http://ui:8233/namespaces/default/workflows/job-financial-etl-daily-processor-1/run-1/history',
      },
    ]);
    const { rows: operations } = await db.query(
      `SELECT app, job, date::text, status, exit_code, attempts, stdout_tail FROM runbook.job_operation_log`,
    );
    expect(operations).toEqual([
      {
        app: 'financial-etl',
        job: 'daily-processor',
        date: '2025-12-02',
        status: 'FAILED',
        exit_code: 3,
        attempts: 2,
        stdout_tail: 'processing 2025-12-02',
      },
    ]);
    const { rows: latest } = await db.query(
      `SELECT date::text, status FROM runbook.job_date_status WHERE app = 'financial-etl'`,
    );
    expect(latest).toEqual([{ date: '2025-12-02', status: 'FAILED' }]);
  });

  it("records any workflow's report in runs, once per run", async () => {
    const audit = auditActivities({ ...activityConfigFromEnv({}), databaseUrl: url });
    const env = new MockActivityEnvironment();
    expect(await env.run(audit.recordRunInDatabase, report)).toEqual({ recorded: true });
    expect(await env.run(audit.recordRunInDatabase, report)).toEqual({ recorded: true });
    const { rows } = await db.query(
      `SELECT kind, app, outcome, ref, error, steps FROM runbook.runs WHERE workflow_id = 'deploy-almareia'`,
    );
    expect(rows).toEqual([
      {
        kind: 'deploy',
        app: 'almareia',
        outcome: 'rolled_back',
        ref: 'v1.4',
        error: report.error,
        steps: report.steps,
      },
    ]);
  });

  it('does nothing, successfully, on a worker without RUNBOOK_DATABASE_URL', async () => {
    const audit = auditActivities(activityConfigFromEnv({}));
    expect(await new MockActivityEnvironment().run(audit.recordRunInDatabase, report)).toEqual({ recorded: false });
  });
});
