import { Redis } from 'ioredis';
import { auditDatabase } from '../audit/database';
import type { ActivityConfig } from '../config';

export interface LedgerEntry {
  key: string;
  workflowId: string;
  runId: string;
  event: string;
  channel: string;
  messageId?: string;
}

/**
 * Which messages were sent, by idempotency key: checked before a send, written right after the provider
 * accepted it. A crash between the acceptance and the write is the one window left for a duplicate.
 */
export interface SentLedger {
  readonly kind: 'postgres' | 'redis' | 'none';
  wasSent(key: string): Promise<boolean>;
  recordSent(entry: LedgerEntry & { providerId?: string }): Promise<void>;
  recordFailure(entry: LedgerEntry & { error: string }): Promise<void>;
}

/** The audit database when the worker has one (it also keeps failures), else Redis, else nothing. */
export function sentLedger(config: Pick<ActivityConfig, 'databaseUrl' | 'redisUrl'>): SentLedger {
  if (config.databaseUrl) return postgresLedger(config.databaseUrl);
  if (config.redisUrl) return redisLedger(config.redisUrl);
  return NO_LEDGER;
}

const NO_LEDGER: SentLedger = {
  kind: 'none',
  wasSent: async () => false,
  recordSent: async () => undefined,
  recordFailure: async () => undefined,
};

function postgresLedger(url: string): SentLedger {
  return {
    kind: 'postgres',
    async wasSent(key) {
      const db = await auditDatabase(url);
      const { rows } = await db.query(`SELECT 1 FROM runbook.notifications WHERE key = $1 AND status = 'sent'`, [key]);
      return rows.length > 0;
    },
    async recordSent(entry) {
      const db = await auditDatabase(url);
      await db.query(
        `INSERT INTO runbook.notifications (key, workflow_id, run_id, event, channel, status, attempts, message_id, provider_id, sent_at)
         VALUES ($1, $2, $3, $4, $5, 'sent', 1, $6, $7, now())
         ON CONFLICT (key) DO UPDATE SET status = 'sent', attempts = runbook.notifications.attempts + 1,
           message_id = EXCLUDED.message_id, provider_id = EXCLUDED.provider_id, sent_at = now(), updated_at = now()`,
        [
          entry.key,
          entry.workflowId,
          entry.runId,
          entry.event,
          entry.channel,
          entry.messageId ?? null,
          entry.providerId ?? null,
        ],
      );
    },
    async recordFailure(entry) {
      const db = await auditDatabase(url);
      await db.query(
        `INSERT INTO runbook.notifications (key, workflow_id, run_id, event, channel, status, attempts, message_id, last_error)
         VALUES ($1, $2, $3, $4, $5, 'failed', 1, $6, $7)
         ON CONFLICT (key) DO UPDATE SET attempts = runbook.notifications.attempts + 1, last_error = EXCLUDED.last_error, updated_at = now()
         WHERE runbook.notifications.status <> 'sent'`,
        [entry.key, entry.workflowId, entry.runId, entry.event, entry.channel, entry.messageId ?? null, entry.error],
      );
    },
  };
}

const REDIS_PREFIX = 'runbook:notification:';
// Far longer than any retry of a notification can last.
const REDIS_TTL_SECONDS = 90 * 24 * 3600;

/**
 * A connection per use: notifications are few, and an idle connection kept for later would hold the process
 * open after its work is done (a worker's exit, the end of a test file).
 */
async function withRedis<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5_000, lazyConnect: true });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

function redisLedger(url: string): SentLedger {
  return {
    kind: 'redis',
    async wasSent(key) {
      return (await withRedis(url, (redis) => redis.hget(`${REDIS_PREFIX}${key}`, 'status'))) === 'sent';
    },
    async recordSent(entry) {
      const key = `${REDIS_PREFIX}${entry.key}`;
      await withRedis(url, (redis) =>
        redis
          .multi()
          .hset(key, {
            status: 'sent',
            event: entry.event,
            channel: entry.channel,
            messageId: entry.messageId ?? '',
            providerId: entry.providerId ?? '',
            sentAt: new Date().toISOString(),
          })
          .hincrby(key, 'attempts', 1)
          .expire(key, REDIS_TTL_SECONDS)
          .exec(),
      );
    },
    async recordFailure(entry) {
      const key = `${REDIS_PREFIX}${entry.key}`;
      await withRedis(url, (redis) =>
        redis
          .multi()
          .hsetnx(key, 'status', 'failed')
          .hset(key, { event: entry.event, channel: entry.channel, lastError: entry.error })
          .hincrby(key, 'attempts', 1)
          .expire(key, REDIS_TTL_SECONDS)
          .exec(),
      );
    },
  };
}
