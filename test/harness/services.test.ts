import { Redis } from 'ioredis';
import { Client } from 'pg';
import { createDatabase } from '../support/postgres';

describe("the harness's throwaway services", () => {
  it('PostgreSQL answers a query in a fresh database', async () => {
    const url = await createDatabase(process.env.RUNBOOK_TEST_PG_URL!, 'harness_check');
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string; n: number }>('SELECT current_database() AS db, 6 * 7 AS n');
      expect(rows[0]).toEqual({ db: 'harness_check', n: 42 });
    } finally {
      await client.end();
    }
  });

  it('Redis answers PING', async () => {
    const redis = new Redis(process.env.RUNBOOK_TEST_REDIS_URL!);
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });
});
