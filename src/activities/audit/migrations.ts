import type { Pool, PoolClient } from 'pg';

/** The PostgreSQL schema Runbook owns in the database at RUNBOOK_DATABASE_URL. */
export const AUDIT_SCHEMA = 'runbook';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Append only: a released migration is never edited, a change is a new version. Each one runs once, in the
 * transaction that records it, so a crash halfway leaves nothing half-applied.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, job sessions and job operations',
    sql: `
      CREATE TABLE runbook.runs (
        workflow_id text NOT NULL,
        run_id text NOT NULL,
        kind text NOT NULL,
        app text NOT NULL,
        outcome text NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        summary text NOT NULL,
        error text,
        ref text,
        release text,
        steps jsonb NOT NULL DEFAULT '[]'::jsonb,
        details jsonb,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow_id, run_id)
      );
      CREATE INDEX runs_app_finished_at ON runbook.runs (app, finished_at DESC);

      CREATE TABLE runbook.job_sessions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        workflow_id text NOT NULL,
        run_id text NOT NULL,
        app text NOT NULL,
        job text NOT NULL,
        mode text,
        date_from date NOT NULL,
        date_to date NOT NULL,
        params jsonb NOT NULL DEFAULT '{}'::jsonb,
        status text NOT NULL CHECK (status IN ('RUNNING', 'OK', 'FAILED', 'CANCELLED')),
        dates_total integer NOT NULL,
        dates_ok integer NOT NULL DEFAULT 0,
        dates_failed integer NOT NULL DEFAULT 0,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        url text,
        UNIQUE (workflow_id, run_id)
      );
      CREATE INDEX job_sessions_app_job_started_at ON runbook.job_sessions (app, job, started_at DESC);

      CREATE TABLE runbook.job_operations (
        session_id bigint NOT NULL REFERENCES runbook.job_sessions (id) ON DELETE CASCADE,
        date date NOT NULL,
        status text NOT NULL CHECK (status IN ('OK', 'FAILED')),
        exit_code integer,
        http_status integer,
        duration_ms integer,
        attempts integer NOT NULL DEFAULT 1,
        started_at timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        message text,
        stdout_tail text NOT NULL DEFAULT '',
        stderr_tail text NOT NULL DEFAULT '',
        PRIMARY KEY (session_id, date)
      );
      CREATE INDEX job_operations_failed ON runbook.job_operations (finished_at DESC) WHERE status = 'FAILED';
    `,
  },
  {
    version: 2,
    name: 'notifications sent, by idempotency key',
    sql: `
      CREATE TABLE runbook.notifications (
        key text PRIMARY KEY,
        workflow_id text NOT NULL,
        run_id text NOT NULL,
        event text NOT NULL,
        channel text NOT NULL,
        status text NOT NULL CHECK (status IN ('sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        message_id text,
        provider_id text,
        last_error text,
        first_attempt_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX notifications_run ON runbook.notifications (workflow_id, run_id);
    `,
  },
  {
    version: 3,
    name: 'readable views: operation log, latest status per date, job dashboard',
    sql: `
      CREATE VIEW runbook.job_operation_log AS
      SELECT s.app, s.job, s.mode, o.date, o.status, o.exit_code, o.http_status, o.duration_ms, o.attempts,
             o.started_at, o.finished_at, o.message, s.workflow_id, s.run_id, s.url, o.stdout_tail, o.stderr_tail
        FROM runbook.job_operations o
        JOIN runbook.job_sessions s ON s.id = o.session_id;

      CREATE VIEW runbook.job_date_status AS
      SELECT DISTINCT ON (s.app, s.job, s.mode, o.date)
             s.app, s.job, s.mode, o.date, o.status, o.exit_code, o.finished_at, s.workflow_id, s.run_id, s.url
        FROM runbook.job_operations o
        JOIN runbook.job_sessions s ON s.id = o.session_id
       ORDER BY s.app, s.job, s.mode, o.date, o.finished_at DESC;

      CREATE VIEW runbook.job_dashboard AS
      SELECT j.app, j.job,
             last.status AS last_status,
             last.mode AS last_mode,
             last.date_from AS last_date_from,
             last.date_to AS last_date_to,
             last.dates_ok AS last_dates_ok,
             last.dates_failed AS last_dates_failed,
             last.started_at AS last_started_at,
             last.finished_at AS last_finished_at,
             last.url AS last_url,
             (SELECT count(*) FROM runbook.job_sessions t
               WHERE t.app = j.app AND t.job = j.job AND t.started_at::date = CURRENT_DATE) AS runs_today,
             (SELECT count(*) FROM runbook.job_operations o JOIN runbook.job_sessions t ON t.id = o.session_id
               WHERE t.app = j.app AND t.job = j.job AND o.status = 'FAILED' AND o.finished_at::date = CURRENT_DATE) AS failed_dates_today
        FROM (SELECT DISTINCT app, job FROM runbook.job_sessions) j
        CROSS JOIN LATERAL (
          SELECT * FROM runbook.job_sessions s
           WHERE s.app = j.app AND s.job = j.job
           ORDER BY s.started_at DESC, s.id DESC
           LIMIT 1
        ) last;
    `,
  },
];

// Any constant shared by every Runbook worker: concurrent workers take turns migrating.
const MIGRATION_LOCK = 0x72756e62;

/**
 * Brings the audit schema to the newest version and returns the versions applied now (none when it was
 * already current). Safe to run from several workers at once and any number of times.
 */
export async function migrateAuditSchema(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${AUDIT_SCHEMA}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${AUDIT_SCHEMA}.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const applied = await appliedVersions(client);
    const newest = Math.max(0, ...applied);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) {
      throw new Error(
        `the ${AUDIT_SCHEMA} schema is at version ${newest}, newer than this worker knows (${known}); upgrade this worker`,
      );
    }
    const pending = migrations.filter((m) => !applied.includes(m.version)).sort((a, b) => a.version - b.version);
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${AUDIT_SCHEMA}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
    return pending.map((m) => m.version);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function appliedVersions(client: PoolClient): Promise<number[]> {
  const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${AUDIT_SCHEMA}.schema_migrations`);
  return rows.map((r) => r.version);
}
