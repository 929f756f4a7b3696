import { Pool } from 'pg';
import { migrateAuditSchema } from './migrations';

const pools = new Map<string, Pool>();
const ready = new Map<string, Promise<Pool>>();

/**
 * The worker's pool for the audit database, migrated once per process before first use. A failed migration
 * is forgotten so the next activity attempt tries again (the database may just have been down).
 */
export function auditDatabase(url: string): Promise<Pool> {
  let pending = ready.get(url);
  if (!pending) {
    const pool = poolFor(url);
    pending = migrateAuditSchema(pool).then(() => pool);
    pending.catch(() => ready.delete(url));
    ready.set(url, pending);
  }
  return pending;
}

function poolFor(url: string): Pool {
  let pool = pools.get(url);
  if (!pool) {
    pool = new Pool({
      connectionString: url,
      max: 4,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 10_000,
      allowExitOnIdle: true,
    });
    // An idle client losing its connection must not crash the worker; the next query reconnects.
    pool.on('error', () => undefined);
    pools.set(url, pool);
  }
  return pool;
}
