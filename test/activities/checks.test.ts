import { appendFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { logOffsets, parseTimestamp, runCheckOnce, type CheckContext } from '../../src/activities/checks';
import { freePort } from '../../src/devserver/ports';
import { parseManifest } from '../../src/manifest/load';
import type { Check, Manifest } from '../../src/manifest/types';

describe('health and dependency checks against real services', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-checks-'));
  const root = path.join(dir, 'app');
  mkdirSync(root, { recursive: true });
  const parsed = parseManifest(
    `app: checks\nhost: h\nroot: ${root}\nstrategy: in-place\nsource: { type: copy, from: ${dir} }\n`,
  );
  if (!parsed.ok) throw new Error('bad test manifest');
  const manifest: Manifest = parsed.manifest;
  const env = { ...process.env, PG_URL: process.env.RUNBOOK_TEST_PG_URL, REDIS: process.env.RUNBOOK_TEST_REDIS_URL };
  const context = (extra: Partial<CheckContext> = {}): CheckContext => ({
    manifest,
    env,
    commandEnv: { PATH: process.env.PATH },
    logOffsets: {},
    redact: [],
    ...extra,
  });
  const check = (c: Record<string, unknown>) => c as unknown as Check;

  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    server = http.createServer((req, res) => {
      if (req.url === '/endless') {
        // A status page that never ends (a misrouted stream): the check reads a capped prefix, not forever.
        res.writeHead(200);
        res.write('status ok\n');
        const chunk = 'x'.repeat(64 * 1024);
        const more = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', more);
        };
        more();
        return;
      }
      if (req.url === '/secret-header') {
        res.statusCode = req.headers.authorization === 'Bearer tK4mR8wQ2zY6vB1n' ? 200 : 401;
        res.end();
        return;
      }
      const [status, body] =
        req.url === '/healthz' ? [200, '{"status":"ok"}'] : req.url === '/broken' ? [500, 'boom'] : [404, ''];
      res.statusCode = status as number;
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('http: status and body text', async () => {
    const base = `http://127.0.0.1:${port}`;
    expect(
      await runCheckOnce(check({ http: `${base}/healthz`, expect: 200, contains: '"status":"ok"' }), context()),
    ).toEqual({ ok: true, detail: 'answered 200' });
    expect(await runCheckOnce(check({ http: `${base}/broken`, expect: 200 }), context())).toEqual({
      ok: false,
      detail: 'answered 500, expected 200',
    });
    expect(await runCheckOnce(check({ http: `${base}/nope`, expect: [200, 404] }), context())).toMatchObject({
      ok: true,
    });
    expect(
      await runCheckOnce(check({ http: `${base}/healthz`, expect: 200, contains: 'degraded' }), context()),
    ).toMatchObject({ ok: false, detail: expect.stringContaining('without "degraded"') });
  });

  it('http: reads a capped prefix of an endless body instead of waiting for its end', async () => {
    const base = `http://127.0.0.1:${port}`;
    expect(
      await runCheckOnce(
        check({ http: `${base}/endless`, expect: 200, contains: 'status ok', timeout: '30s' }),
        context(),
      ),
    ).toEqual({ ok: true, detail: 'answered 200' });
  });

  it('http: a header whose value is named by variable (headersEnv)', async () => {
    const base = `http://127.0.0.1:${port}`;
    const withToken = context({ env: { ...env, API_TOKEN: 'Bearer tK4mR8wQ2zY6vB1n' } });
    expect(
      await runCheckOnce(
        check({ http: `${base}/secret-header`, expect: 200, headersEnv: { Authorization: 'API_TOKEN' } }),
        withToken,
      ),
    ).toEqual({ ok: true, detail: 'answered 200' });
    await expect(
      runCheckOnce(check({ http: `${base}/secret-header`, headersEnv: { Authorization: 'UNSET_TOKEN' } }), context()),
    ).rejects.toThrow(/UNSET_TOKEN is not set/);
  });

  it('tcp: an open and a closed port', async () => {
    expect(await runCheckOnce(check({ tcp: `127.0.0.1:${port}` }), context())).toMatchObject({ ok: true });
    const closed = await freePort();
    expect(await runCheckOnce(check({ tcp: `127.0.0.1:${closed}` }), context())).toMatchObject({
      ok: false,
      detail: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('postgres: SELECT 1 and a custom query, the URL read from a named variable', async () => {
    expect(await runCheckOnce(check({ postgres: { urlEnv: 'PG_URL', query: 'SELECT 1' } }), context())).toEqual({
      ok: true,
      detail: 'SELECT 1: 1 row(s)',
    });
    expect(
      await runCheckOnce(check({ postgres: { urlEnv: 'PG_URL', query: 'SELECT * FROM audit.nope' } }), context()),
    ).toMatchObject({ ok: false, detail: expect.stringContaining('does not exist') });
    await expect(
      runCheckOnce(check({ postgres: { urlEnv: 'UNSET_DB_URL', query: 'SELECT 1' } }), context()),
    ).rejects.toThrow('UNSET_DB_URL is not set (postgres check)');
  });

  it('redis: PING, and a worker heartbeat that must be fresh', async () => {
    expect(await runCheckOnce(check({ redis: { urlEnv: 'REDIS' } }), context())).toEqual({
      ok: true,
      detail: 'PING → PONG',
    });
    const redis = new Redis(process.env.RUNBOOK_TEST_REDIS_URL!);
    try {
      await redis.set('checks:beat:fresh', String(Math.floor(Date.now() / 1000)));
      await redis.set('checks:beat:stale', new Date(Date.now() - 600_000).toISOString());
      await redis.hset('rq:worker:w1', 'last_heartbeat', new Date().toISOString());
    } finally {
      redis.disconnect();
    }
    const beat = (key: string, field?: string) =>
      check({ heartbeat: { redisUrlEnv: 'REDIS', key, field, maxAge: '60s' } });
    expect(await runCheckOnce(beat('checks:beat:fresh'), context())).toMatchObject({ ok: true });
    expect(await runCheckOnce(beat('checks:beat:stale'), context())).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/heartbeat is 6\d\ds old \(max 60s\)/),
    });
    expect(await runCheckOnce(beat('rq:worker:w1', 'last_heartbeat'), context())).toMatchObject({ ok: true });
    expect(await runCheckOnce(beat('checks:beat:missing'), context())).toEqual({
      ok: false,
      detail: 'no heartbeat at checks:beat:missing',
    });
  });

  it('heartbeat over a key pattern: one hash per RQ worker, every one alive and fresh', async () => {
    const prefix = `rq-${process.pid}-${Date.now()}`;
    const beat = check({
      heartbeat: { redisUrlEnv: 'REDIS', key: `${prefix}:worker:*`, field: 'last_heartbeat', maxAge: '60s' },
    });
    expect(await runCheckOnce(beat, context())).toEqual({
      ok: false,
      detail: `no heartbeat matches ${prefix}:worker:* last_heartbeat`,
    });
    const redis = new Redis(process.env.RUNBOOK_TEST_REDIS_URL!);
    try {
      // RQ's own format: an ISO time in UTC with microseconds
      const now = () => new Date().toISOString().replace('Z', '000Z');
      await redis.hset(`${prefix}:worker:a1`, 'last_heartbeat', now(), 'queues', 'default');
      await redis.hset(`${prefix}:worker:b2`, 'last_heartbeat', now(), 'queues', 'default');
      await redis.sadd(`${prefix}:workers`, `${prefix}:worker:a1`, `${prefix}:worker:b2`);
      expect(await runCheckOnce(beat, context())).toEqual({
        ok: true,
        detail: expect.stringMatching(new RegExp(`^2 heartbeats \\(${prefix}:worker:\\*\\), the oldest \\d+s old$`)),
      });
      // one worker died without deregistering: its heartbeat ages, and the check names it
      await redis.hset(`${prefix}:worker:b2`, 'last_heartbeat', new Date(Date.now() - 300_000).toISOString());
      expect(await runCheckOnce(beat, context())).toEqual({
        ok: false,
        detail: expect.stringMatching(new RegExp(`^heartbeat ${prefix}:worker:b2 is 30\\ds old \\(max 60s\\)$`)),
      });
      await redis.hdel(`${prefix}:worker:b2`, 'last_heartbeat');
      expect(await runCheckOnce(beat, context())).toEqual({
        ok: false,
        detail: `no heartbeat at ${prefix}:worker:b2 last_heartbeat`,
      });
      await redis.del(`${prefix}:worker:b2`);
      expect(await runCheckOnce(beat, context())).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/^heartbeat \d+s old$/),
      });
    } finally {
      await redis.del(`${prefix}:worker:a1`, `${prefix}:worker:b2`, `${prefix}:workers`);
      redis.disconnect();
    }
  });

  it("a compose app's checks reach its services through their published ports, not the containers' names", async () => {
    const pg = new URL(process.env.RUNBOOK_TEST_PG_URL!);
    const redisUrl = new URL(process.env.RUNBOOK_TEST_REDIS_URL!);
    const parsed = parseManifest(
      `app: checks\nhost: h\nroot: ${root}-compose\nsource: { type: image, image: checks-app }\nservices:\n` +
        `  - { name: stack, type: compose, services: [app], published: { postgres: '${pg.host}', redis: '${redisUrl.host}' } }\n`,
    );
    if (!parsed.ok) throw new Error('bad test manifest');
    // the URLs as the app's .env has them for its containers
    pg.host = 'postgres:5432';
    redisUrl.host = 'redis:6379';
    const containerEnv = { ...env, DATABASE_URL: pg.toString(), REDIS_URL: redisUrl.toString() };
    const composeContext = context({ manifest: parsed.manifest, env: containerEnv });
    expect(
      await runCheckOnce(check({ postgres: { urlEnv: 'DATABASE_URL', query: 'SELECT 1' } }), composeContext),
    ).toEqual({ ok: true, detail: 'SELECT 1: 1 row(s)' });
    expect(await runCheckOnce(check({ redis: { urlEnv: 'REDIS_URL' } }), composeContext)).toEqual({
      ok: true,
      detail: 'PING → PONG',
    });
    // without the map the container's host name does not resolve here
    expect(await runCheckOnce(check({ redis: { urlEnv: 'REDIS_URL' } }), context({ env: containerEnv }))).toMatchObject(
      { ok: false },
    );
  });

  it('logs: only what was written since the restart counts', async () => {
    const log = path.join(root, 'app.log');
    writeFileSync(log, 'Traceback (most recent call last): from yesterday\n');
    const logsCheck = check({ logs: 'app.log', deny: ['Traceback', 'ImportError'] });
    const offsets = logOffsets(manifest, [logsCheck]);
    appendFileSync(log, 'started\n');
    expect(await runCheckOnce(logsCheck, context({ logOffsets: offsets }))).toMatchObject({ ok: true });
    appendFileSync(log, "ImportError: cannot import name 'x'\n");
    expect(await runCheckOnce(logsCheck, context({ logOffsets: offsets }))).toEqual({
      ok: false,
      detail: "app.log contains 'ImportError' since the restart: ImportError: cannot import name 'x'",
    });
  });

  it('logs: every line written since the restart counts, however much the app wrote after it', async () => {
    const log = path.join(root, 'busy.log');
    writeFileSync(log, 'yesterday\n');
    const logsCheck = check({ logs: 'busy.log', deny: ['Traceback'] });
    const offsets = logOffsets(manifest, [logsCheck]);
    appendFileSync(
      log,
      `Traceback (most recent call last): right after the start\n${'GET / 200 0.4ms\n'.repeat(400_000)}`,
    );
    expect(await runCheckOnce(logsCheck, context({ logOffsets: offsets }))).toEqual({
      ok: false,
      detail:
        "busy.log contains 'Traceback' since the restart: Traceback (most recent call last): right after the start",
    });
  });

  it('logs: a log replaced since the restart (rotated) is read from its start', async () => {
    const log = path.join(root, 'rotated.log');
    writeFileSync(log, 'GET / 200\n'.repeat(100));
    const logsCheck = check({ logs: 'rotated.log', deny: ['Traceback'] });
    const offsets = logOffsets(manifest, [logsCheck]);
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'Traceback (most recent call last): in the new file\n');
    expect(await runCheckOnce(logsCheck, context({ logOffsets: offsets }))).toMatchObject({ ok: false });
  });

  it('command: exit status decides, the output explains', async () => {
    expect(await runCheckOnce(check({ command: ['true'] }), context())).toEqual({ ok: true, detail: 'exit 0' });
    expect(
      await runCheckOnce(check({ command: ['sh', '-c', 'echo queue whatsapp stuck >&2; exit 2'] }), context()),
    ).toEqual({ ok: false, detail: 'exit 2: queue whatsapp stuck' });
  });

  it('command: a dependency check before the first deploy runs although no live folder exists yet', async () => {
    const fresh = parseManifest(
      `app: fresh\nhost: h\nroot: ${dir}/not-deployed-yet\nsource: { type: git, repo: ${dir}/repo.git }\n`,
    );
    if (!fresh.ok) throw new Error('bad test manifest');
    expect(await runCheckOnce(check({ command: ['true'] }), context({ manifest: fresh.manifest }))).toEqual({
      ok: true,
      detail: 'exit 0',
    });
  });

  it('reads heartbeat timestamps as unix seconds, milliseconds or ISO dates', () => {
    expect(parseTimestamp('1700000000')).toBe(1_700_000_000_000);
    expect(parseTimestamp('1700000000123')).toBe(1_700_000_000_123);
    expect(parseTimestamp('2026-11-23T10:00:00Z')).toBe(Date.parse('2026-11-23T10:00:00Z'));
    expect(parseTimestamp('soon')).toBeUndefined();
  });
});
