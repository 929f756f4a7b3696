import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
