import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { commandToArgv } from '../manifest/argv';
import { durationMs } from '../common/duration';
import type { Check, Manifest } from '../manifest/types';
import { secretHeaders } from './environment';
import { serviceUrlFromEnv } from './published';
import { resolveAppPath } from '../common/names';
import { readBody } from './http-body';
import { redact } from './redact';
import { scanLog } from './log-scan';
import { runCommand } from './shell';

export interface CheckContext {
  manifest: Manifest;
  /** Where the manifest's `…Env` names are looked up (env file, then the worker's environment). */
  env: NodeJS.ProcessEnv;
  /** What a command check runs with: the app's environment, never the worker's own. */
  commandEnv: NodeJS.ProcessEnv;
  /**
   * Where each log check's next look starts: the log's size at the restart, then the end of the last line a
   * look found clean (each look reads only what is new; a log shorter than that is read from its start).
   */
  logOffsets: Record<string, number>;
  redact: string[];
}

export interface CheckOutcome {
  ok: boolean;
  detail: string;
}

const ATTEMPT_TIMEOUT_MS = 5_000;

/** Runs one check once. Never throws for a failing target: the outcome says what was wrong. */
export async function runCheckOnce(check: Check, context: CheckContext): Promise<CheckOutcome> {
  try {
    if ('http' in check) return await httpCheck(check, context);
    if ('tcp' in check) return await tcpCheck(check.tcp);
    if ('postgres' in check) return await postgresCheck(check.postgres, context);
    if ('redis' in check)
      return await redisCheck(serviceUrlFromEnv(context.manifest, context.env, check.redis.urlEnv, 'redis check'));
    if ('heartbeat' in check) return await heartbeatCheck(check.heartbeat, context);
    if ('logs' in check) return await logsCheck(check, context);
    return await commandCheck(check, context);
  } catch (error) {
    if ((error as { nonRetryable?: boolean }).nonRetryable) throw error;
    return { ok: false, detail: redact((error as Error).message, context.redact) };
  }
}

async function httpCheck(check: Extract<Check, { http: string }>, context: CheckContext): Promise<CheckOutcome> {
  const expected = Array.isArray(check.expect) ? check.expect : [check.expect];
  const response = await fetch(check.http, {
    headers: { ...check.headers, ...secretHeaders(check.headersEnv, context.env, check.http, context.manifest) },
    redirect: 'manual',
    signal: AbortSignal.timeout(check.timeout ? durationMs(check.timeout) : ATTEMPT_TIMEOUT_MS),
  });
  const { text: body } = await readBody(response);
  if (!expected.includes(response.status))
    return { ok: false, detail: `answered ${response.status}, expected ${expected.join(' or ')}` };
  if (check.contains && !body.includes(check.contains))
    return { ok: false, detail: `answered ${response.status} without "${check.contains}" in the body` };
  return { ok: true, detail: `answered ${response.status}` };
}

function tcpCheck(address: string): Promise<CheckOutcome> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: ATTEMPT_TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, detail: `${address} accepts connections` });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, detail: `${address} did not answer` });
    });
    socket.once('error', (error) => resolve({ ok: false, detail: `${address}: ${error.message}` }));
  });
}

async function postgresCheck(check: { urlEnv: string; query: string }, context: CheckContext): Promise<CheckOutcome> {
  const url = serviceUrlFromEnv(context.manifest, context.env, check.urlEnv, 'postgres check');
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: ATTEMPT_TIMEOUT_MS,
    query_timeout: ATTEMPT_TIMEOUT_MS,
  });
  try {
    await client.connect();
    const result = await client.query(check.query);
    return { ok: true, detail: `${check.query}: ${result.rowCount ?? 0} row(s)` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A Redis connection for one check attempt: no reconnects or queued retries, it fails within the attempt. */
function redisClient(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: ATTEMPT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
}

async function redisCheck(url: string): Promise<CheckOutcome> {
  const client = redisClient(url);
  try {
    await client.connect();
    const pong = await client.ping();
    return { ok: pong === 'PONG', detail: `PING → ${pong}` };
  } finally {
    client.disconnect();
  }
}

async function heartbeatCheck(
  check: { redisUrlEnv: string; key: string; field?: string; maxAge: string },
  context: CheckContext,
): Promise<CheckOutcome> {
  const url = serviceUrlFromEnv(context.manifest, context.env, check.redisUrlEnv, 'heartbeat check');
  const client = redisClient(url);
  try {
    await client.connect();
    const where = (key: string) => `${key}${check.field ? ` ${check.field}` : ''}`;
    const keys = check.key.includes('*') ? (await scanKeys(client, check.key)).sort() : [check.key];
    if (keys.length === 0) return { ok: false, detail: `no heartbeat matches ${where(check.key)}` };
    const max = durationMs(check.maxAge);
    let oldest = 0;
    for (const key of keys) {
      const raw = check.field ? await client.hget(key, check.field) : await client.get(key);
      if (raw === null) return { ok: false, detail: `no heartbeat at ${where(key)}` };
      const at = parseTimestamp(raw);
      if (at === undefined) return { ok: false, detail: `heartbeat ${key} holds '${raw}', not a timestamp` };
      const age = Math.round((Date.now() - at) / 1000);
      if (Date.now() - at > max)
        return {
          ok: false,
          detail: `heartbeat${keys.length > 1 ? ` ${key}` : ''} is ${age}s old (max ${check.maxAge})`,
        };
      oldest = Math.max(oldest, age);
    }
    return keys.length === 1
      ? { ok: true, detail: `heartbeat ${oldest}s old` }
      : { ok: true, detail: `${keys.length} heartbeats (${check.key}), the oldest ${oldest}s old` };
  } finally {
    client.disconnect();
  }
}

/** Every key matching a glob pattern (SCAN, never KEYS: it does not block a busy Redis). */
async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    batch.forEach((key) => keys.add(key));
    cursor = next;
  } while (cursor !== '0');
  return [...keys];
}

/** Unix seconds, unix milliseconds or an ISO date, as workers commonly write them. */
export function parseTimestamp(raw: string): number | undefined {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    return n < 1e11 ? n * 1000 : n;
  }
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

async function logsCheck(check: Extract<Check, { logs: string }>, context: CheckContext): Promise<CheckOutcome> {
  const file = resolveAppPath(context.manifest, check.logs);
  if (!existsSync(file)) return { ok: true, detail: `${check.logs} not written yet` };
  const since = context.logOffsets[file] ?? 0;
  // Shorter than where the last look ended: the log was replaced (rotated) or cut, and all of it is new.
  const from = since > statSync(file).size ? 0 : since;
  const scan = await scanLog(file, from, check.deny);
  if (scan.found)
    return {
      ok: false,
      detail: `${check.logs} contains '${scan.found.pattern}' since the restart: ${redact(scan.found.line.trim().slice(0, 300), context.redact)}`,
    };
  context.logOffsets[file] = scan.checkedTo;
  return { ok: true, detail: `${check.logs}: no ${check.deny.join('/')} since the restart` };
}

async function commandCheck(check: Extract<Check, { command: unknown }>, context: CheckContext): Promise<CheckOutcome> {
  const argv = commandToArgv(check.command);
  const result = await runCommand({
    argv,
    cwd: check.cwd ? resolveAppPath(context.manifest, check.cwd, context.manifest.root) : defaultCheckDir(context),
    env: context.commandEnv,
    redact: context.redact,
    timeoutMs: 60_000,
  });
  const output = (result.stderrTail.trim() || result.stdoutTail.trim()).split('\n').slice(-3).join(' | ');
  return result.exitCode === 0
    ? { ok: true, detail: 'exit 0' }
    : { ok: false, detail: `exit ${result.exitCode}${output ? `: ${output}` : ''}` };
}

/** The live folder, or, before the first deploy made one (a dependency check), the app root or none. */
function defaultCheckDir(context: CheckContext): string | undefined {
  return [resolveAppPath(context.manifest, '.'), context.manifest.root].find((dir) => existsSync(dir));
}

/** Current sizes of the files log checks read (taken after the switch, before the start). */
export function logOffsets(manifest: Manifest, checks: readonly Check[]): Record<string, number> {
  const offsets: Record<string, number> = {};
  for (const check of checks) {
    if (!('logs' in check)) continue;
    const file = resolveAppPath(manifest, check.logs);
    offsets[file] = existsSync(file) ? statSync(file).size : 0;
  }
  return offsets;
}
