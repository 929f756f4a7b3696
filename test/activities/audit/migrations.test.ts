import { Client, Pool } from 'pg';
import { AUDIT_SCHEMA, MIGRATIONS, migrateAuditSchema } from '../../../src/activities/audit/migrations';
import { createDatabase } from '../../support/postgres';
import { uniqueName } from '../../support/temporal';

/** Everything a migration can change in the schema, as text: tables, columns, constraints, indexes, views, versions. */
async function describeSchema(url: string): Promise<Record<string, unknown[]>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const query = async (sql: string) => (await client.query(sql, [AUDIT_SCHEMA])).rows;
    return {
      columns: await query(
        `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
      ),
      constraints: await query(
        `SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 ORDER BY 1, 2`,
      ),
      indexes: await query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2`),
      views: await query(`SELECT viewname, definition FROM pg_views WHERE schemaname = $1 ORDER BY 1`),
      migrations: await query(
        `SELECT version, name, applied_at FROM ${AUDIT_SCHEMA}.schema_migrations WHERE $1 = $1 ORDER BY version`,
      ),
    };
  } finally {
    await client.end();
  }
}

describe('audit schema migrations on a real PostgreSQL', () => {
  it('applies every version once; applied again, nothing changes', async () => {
    const url = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('audit-migrate'));
    const pool = new Pool({ connectionString: url });
    try {
      expect(await migrateAuditSchema(pool)).toEqual(MIGRATIONS.map((m) => m.version));
      const first = await describeSchema(url);
      expect(first.views.map((v) => (v as { viewname: string }).viewname)).toEqual([
        'job_dashboard',
        'job_date_status',
        'job_operation_log',
      ]);
      expect(first.migrations).toHaveLength(MIGRATIONS.length);

      expect(await migrateAuditSchema(pool)).toEqual([]);
      expect(await describeSchema(url)).toEqual(first);
    } finally {
      await pool.end();
    }
  });

  it('lets several workers migrate at once: each version is applied exactly once', async () => {
    const url = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('audit-race'));
    const pools = [1, 2, 3].map(() => new Pool({ connectionString: url }));
    try {
      const applied = await Promise.all(pools.map((p) => migrateAuditSchema(p)));
      expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('applies only the versions a database lacks, and refuses a schema newer than the worker', async () => {
    const url = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('audit-upgrade'));
    const pool = new Pool({ connectionString: url });
    try {
      expect(await migrateAuditSchema(pool, MIGRATIONS.slice(0, 1))).toEqual([1]);
      expect(await migrateAuditSchema(pool)).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
      await expect(migrateAuditSchema(pool, MIGRATIONS.slice(0, 1))).rejects.toThrow(
        `the runbook schema is at version ${MIGRATIONS.length}, newer than this worker knows (1); upgrade this worker`,
      );
    } finally {
      await pool.end();
    }
  });
});
