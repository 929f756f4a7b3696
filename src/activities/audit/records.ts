import type { ClientBase, Pool } from 'pg';
import type { RunReport } from '../../common/progress';

/** One run of a job: the guide's `audit.sessoes_processamento` row. Keyed by workflow id and run id. */
export interface JobSession {
  workflowId: string;
  runId: string;
  app: string;
  job: string;
  mode?: string;
  from: string;
  to: string;
  dates: number;
  params: Record<string, string>;
  startedAt: string;
  url?: string;
}

/** One date of a job run: the guide's `audit.operacoes` row. Keyed by its session and date. */
export interface JobOperation {
  date: string;
  status: 'OK' | 'FAILED';
  exitCode: number | null;
  httpStatus?: number;
  durationMs?: number;
  attempts: number;
  startedAt: string;
  finishedAt: string;
  message?: string;
  stdoutTail: string;
  stderrTail: string;
}

export interface JobSessionEnd {
  status: 'OK' | 'FAILED' | 'CANCELLED';
  datesOk: number;
  datesFailed: number;
  finishedAt: string;
}

/** Creates the session row unless it exists; a retry or a later call for the same run changes nothing. */
export async function insertJobSession(db: ClientBase | Pool, session: JobSession): Promise<void> {
  await db.query(
    `INSERT INTO runbook.job_sessions
       (workflow_id, run_id, app, job, mode, date_from, date_to, params, status, dates_total, started_at, url)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'RUNNING', $9, $10, $11)
     ON CONFLICT (workflow_id, run_id) DO NOTHING`,
    [
      session.workflowId,
      session.runId,
      session.app,
      session.job,
      session.mode ?? null,
      session.from,
      session.to,
      JSON.stringify(session.params),
      session.dates,
      session.startedAt,
      session.url ?? null,
    ],
  );
}

/** Records one date's outcome; recording it again (a retried activity) leaves one row with the same facts. */
export async function upsertJobOperation(db: Pool, session: JobSession, operation: JobOperation): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await insertJobSession(client, session);
    await client.query(
      `INSERT INTO runbook.job_operations
         (session_id, date, status, exit_code, http_status, duration_ms, attempts, started_at, finished_at, message, stdout_tail, stderr_tail)
       SELECT id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
         FROM runbook.job_sessions WHERE workflow_id = $1 AND run_id = $2
       ON CONFLICT (session_id, date) DO UPDATE SET
         status = EXCLUDED.status, exit_code = EXCLUDED.exit_code, http_status = EXCLUDED.http_status,
         duration_ms = EXCLUDED.duration_ms, attempts = EXCLUDED.attempts, started_at = EXCLUDED.started_at,
         finished_at = EXCLUDED.finished_at, message = EXCLUDED.message,
         stdout_tail = EXCLUDED.stdout_tail, stderr_tail = EXCLUDED.stderr_tail`,
      [
        session.workflowId,
        session.runId,
        operation.date,
        operation.status,
        operation.exitCode,
        operation.httpStatus ?? null,
        operation.durationMs === undefined ? null : Math.round(operation.durationMs),
        operation.attempts,
        operation.startedAt,
        operation.finishedAt,
        operation.message === undefined ? null : withoutNul(operation.message),
        withoutNul(operation.stdoutTail),
        withoutNul(operation.stderrTail),
      ],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function endJobSession(db: Pool, session: JobSession, end: JobSessionEnd): Promise<void> {
  await insertJobSession(db, session);
  await db.query(
    `UPDATE runbook.job_sessions SET status = $3, dates_ok = $4, dates_failed = $5, finished_at = $6
      WHERE workflow_id = $1 AND run_id = $2`,
    [session.workflowId, session.runId, end.status, end.datesOk, end.datesFailed, end.finishedAt],
  );
}

/** Any workflow's finished run, once per workflow id and run id (the newest report wins). */
export async function upsertRun(db: Pool, report: RunReport): Promise<void> {
  await db.query(
    `INSERT INTO runbook.runs
       (workflow_id, run_id, kind, app, outcome, started_at, finished_at, summary, error, ref, release, steps, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (workflow_id, run_id) DO UPDATE SET
       kind = EXCLUDED.kind, app = EXCLUDED.app, outcome = EXCLUDED.outcome, started_at = EXCLUDED.started_at,
       finished_at = EXCLUDED.finished_at, summary = EXCLUDED.summary, error = EXCLUDED.error, ref = EXCLUDED.ref,
       release = EXCLUDED.release, steps = EXCLUDED.steps, details = EXCLUDED.details`,
    [
      report.workflowId,
      report.runId,
      report.kind,
      report.app,
      report.outcome,
      report.startedAt,
      report.finishedAt,
      report.summary,
      report.error ?? null,
      report.ref ?? null,
      report.release ?? null,
      JSON.stringify(report.steps),
      report.details === undefined ? null : JSON.stringify(report.details),
    ],
  );
}

/** PostgreSQL text cannot hold NUL; a binary-ish command output must not make the record fail. */
function withoutNul(text: string): string {
  return text.split(String.fromCharCode(0)).join('');
}
