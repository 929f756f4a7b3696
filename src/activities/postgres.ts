import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledFailure, Context } from '@temporalio/activity';
import { fsyncFile } from './atomic-write';
import { throwIfCancelled } from './attempt';
import { Client, type ClientConfig } from 'pg';
import { sha256Path, sizeOfSync } from './checksum';
import {
  pgDumpArgv,
  pgRestoreArgv,
  pgRestoreListArgv,
  pgRestoreReadArgv,
  pgRestoreScriptArgv,
  psqlRestoreArgv,
  replaceSchemasSql,
  schemaPatternRegex,
  type DumpFormat,
} from './commands/postgres';
import { stopLeftover } from './containment';
import { removePartials } from './files';
import { describeFailure, runCommand } from './shell';
import { failure } from '../common/failures';

/*
 * pg_dump / pg_restore / psql for backups, restores and the deploy's pre-migration dump. Connection
 * strings are read on the worker and handed to the tools as PG* variables; argv holds no secret.
 */

export interface PgConnection {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database: string;
  /** Other libpq parameters from the URL's query (sslmode=require → PGSSLMODE). */
  options: Record<string, string>;
}

const LIBPQ_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/**
 * Parses postgresql://user:password@host:port/db?sslmode=require (also postgres:// and SQLAlchemy's
 * postgresql+psycopg2://). The error never repeats the URL: it may hold a password.
 */
export function parsePostgresUrl(url: string, source = 'the database URL'): PgConnection {
  const normalized = url.trim().replace(/^postgres(ql)?\+[a-z0-9_]+:\/\//i, 'postgresql://');
  let parsed: URL;
  try {
    parsed = new URL(normalized);
  } catch {
    throw failure('BadDatabaseUrl', `${source} is not a URL; expected postgresql://user:password@host:5432/dbname`);
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol))
    throw failure(
      'BadDatabaseUrl',
      `${source} is not a PostgreSQL URL (${parsed.protocol}); expected postgresql://user:password@host:5432/dbname`,
    );
  const options: Record<string, string> = {};
  parsed.searchParams.forEach((value, key) => (options[key] = value));
  const { host: hostParam, port: portParam, user: userParam, password: passwordParam, dbname, ...rest } = options;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || dbname;
  if (!database) throw failure('BadDatabaseUrl', `${source} names no database; add /dbname after the host`);
  return {
    host: decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, '$1') || hostParam || undefined,
    port: parsed.port ? Number(parsed.port) : portParam ? Number(portParam) : undefined,
    user: parsed.username ? decodeURIComponent(parsed.username) : userParam,
    password: parsed.password ? decodeURIComponent(parsed.password) : passwordParam,
    database,
    options: rest,
  };
}

/** The PG* environment variables that make libpq tools connect where the URL says. */
export function pgEnvFromUrl(url: string): Record<string, string> {
  const c = parsePostgresUrl(url);
  const env: Record<string, string> = { PGDATABASE: c.database };
  if (c.host) env.PGHOST = c.host;
  if (c.port) env.PGPORT = String(c.port);
  if (c.user) env.PGUSER = c.user;
  if (c.password) env.PGPASSWORD = c.password;
  for (const [key, value] of Object.entries(c.options)) if (LIBPQ_ENV[key]) env[LIBPQ_ENV[key]] = value;
  return env;
}

/** The URL of another database on the same server (a scratch copy). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url.trim().replace(/^postgres(ql)?\+[a-z0-9_]+:\/\//i, 'postgresql://'));
  parsed.pathname = `/${encodeURIComponent(database)}`;
  parsed.searchParams.delete('dbname');
  return parsed.toString();
}

export function pgClientConfig(url: string): ClientConfig {
  const c = parsePostgresUrl(url);
  const ssl =
    c.options.sslmode && c.options.sslmode !== 'disable'
      ? { rejectUnauthorized: c.options.sslmode.startsWith('verify') }
      : undefined;
  return { host: c.host, port: c.port, user: c.user, password: c.password, database: c.database, ssl };
}

/** The tools' environment: the worker's, minus any PG* connection settings it carries, plus the URL's. */
function toolEnv(url: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base))
    if (!/^PG(HOST|HOSTADDR|PORT|USER|PASSWORD|DATABASE|SERVICE|SSLMODE)$/.test(key)) env[key] = value;
  return { ...env, ...pgEnvFromUrl(url) };
}

function secretsOf(url: string): string[] {
  const password = parsePostgresUrl(url).password;
  return [url, ...(password ? [password, encodeURIComponent(password)] : [])];
}

export function pgBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.RUNBOOK_PG_BIN || undefined;
}

// ---- dump -----------------------------------------------------------------------------------------

export interface DumpDatabaseOptions {
  url: string;
  /** The finished dump's name (a folder for the directory format). */
  file: string;
  format: DumpFormat;
  schemas?: string[];
  excludeSchemas?: string[];
  jobs?: number;
  compress?: number;
  binDir?: string;
  /** The worker's environment (default process.env); PG* connection variables in it are replaced. */
  env?: NodeJS.ProcessEnv;
  /** The lease under which pg_dump runs, so a retry stops a copy left by a crashed worker (default: the file's). */
  lease?: string;
  timeoutMs?: number;
}

export interface DumpResult {
  file: string;
  format: DumpFormat;
  bytes: number;
  sha256: string;
  durationMs: number;
}

/**
 * Dumps a database into a fresh temporary name next to `file` and renames it when pg_dump succeeds, so
 * a crash never leaves a partial dump under the final name. A retry first stops the pg_dump a crashed
 * attempt left running and deletes that attempt's partial output. Heartbeats carry the bytes written.
 */
export async function dumpDatabase(options: DumpDatabaseOptions): Promise<DumpResult> {
  const file = path.resolve(options.file);
  const lease = options.lease ?? `dump:${file}`;
  await stopLeftover(lease);
  await mkdir(path.dirname(file), { recursive: true });
  await removePartials(file);
  const temporary = `${file}.partial-${randomBytes(4).toString('hex')}`;
  // A file dump streams through its hash on the way to disk: no second pass over a dump of many GB.
  const streamed = options.format !== 'directory';
  const hash = createHash('sha256');
  let written = 0;
  const argv = pgDumpArgv({ ...options, file: streamed ? undefined : temporary });
  let durationMs: number;
  try {
    const result = await runCommand({
      argv,
      env: toolEnv(options.url, options.env),
      redact: secretsOf(options.url),
      lease,
      timeoutMs: options.timeoutMs,
      heartbeatDetails: () => ({ bytes: streamed ? written : sizeOfSync(temporary) }),
      stdout: streamed ? hashInto(temporary, hash, (bytes) => (written += bytes)) : undefined,
    });
    if (result.exitCode !== 0)
      throw new Error(
        `${describeFailure(result, 'pg_dump')}\ncheck that the database is reachable and the user may read every table`,
      );
    durationMs = result.durationMs;
    if (streamed) await fsyncFile(temporary);
    throwIfCancelled();
    await rm(file, { recursive: true, force: true });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  const sha256 = streamed ? hash.digest('hex') : await sha256Path(file);
  return { file, format: options.format, bytes: sizeOfSync(file), sha256, durationMs };
}

/** Streams a dump through its hash into `file`. */
function hashInto(file: string, hash: Hash, onBytes: (bytes: number) => void) {
  return (stream: Readable) =>
    pipeline(
      stream,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          onBytes(chunk.length);
          callback(null, chunk);
        },
      }),
      createWriteStream(file, { mode: 0o600 }),
    );
}

// ---- verify ---------------------------------------------------------------------------------------

/**
 * Checks a dump can be read back. A custom or directory dump: `pg_restore --list` reads its table of
 * contents, then (with `full`) `pg_restore -f /dev/null` reads and decompresses every data block, which
 * is what finds a truncated or damaged file. A plain dump must end with pg_dump's completion line.
 * Returns the number of TOC entries (statements of a plain dump).
 */
export async function listDump(options: {
  file: string;
  format: DumpFormat;
  binDir?: string;
  full?: boolean;
}): Promise<{ entries: number }> {
  if (options.format === 'plain') return { entries: await checkPlainDump(options.file) };
  const name = path.basename(options.file);
  const result = await runCommand({ argv: pgRestoreListArgv(options.file, options.binDir), tailBytes: 1 << 20 });
  if (result.exitCode !== 0) throw new Error(describeFailure(result, `pg_restore --list ${name}`));
  const entries = result.stdoutTail.split('\n').filter((line) => line.trim() && !line.startsWith(';')).length;
  if (entries === 0) throw new Error(`pg_restore --list found no entries in ${options.file}`);
  if (options.full) {
    const read = await runCommand({ argv: pgRestoreReadArgv(options.file, options.binDir) });
    if (read.exitCode !== 0)
      throw new Error(describeFailure(read, `reading every block of ${name} (pg_restore -f /dev/null)`));
  }
  return { entries };
}

async function checkPlainDump(file: string): Promise<number> {
  let statements = 0;
  let tail = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
    statements += chunk.split(';\n').length - 1;
    tail = (tail + chunk).slice(-200);
  }
  if (!tail.includes('PostgreSQL database dump complete'))
    throw new Error(`${file} does not end with "PostgreSQL database dump complete": the dump is truncated`);
  return statements;
}

// ---- restore --------------------------------------------------------------------------------------

export interface RestoreDatabaseOptions {
  url: string;
  file: string;
  format: DumpFormat;
  /** Replace what the dump covers instead of adding to it (see restoreDatabase). */
  clean: boolean;
  /** The schemas the dump holds (its pg_dump -n list); none: the whole database but `excludeSchemas`. */
  schemas?: string[];
  excludeSchemas?: string[];
  /** Objects owned by the restoring user (scratch copies). */
  noOwner?: boolean;
  jobs?: number;
  binDir?: string;
  env?: NodeJS.ProcessEnv;
  lease?: string;
  timeoutMs?: number;
}

/**
 * Restores a dump into the URL's database, in one transaction unless parallel jobs are asked for. A clean
 * restore replaces what the dump covers (its `schemas`, or every user schema) whole, so objects created
 * since the dump go too: `pg_restore --clean` alone fails when a later migration made them depend on
 * dumped ones. Parallel clean restores keep `--clean --if-exists`.
 */
export async function restoreDatabase(options: RestoreDatabaseOptions): Promise<{ durationMs: number }> {
  if (options.clean && (options.jobs ?? 1) <= 1) return replaceDatabase(options);
  const dbname = parsePostgresUrl(options.url).database;
  const argv =
    options.format === 'plain'
      ? psqlRestoreArgv({ file: options.file, dbname, binDir: options.binDir })
      : pgRestoreArgv({
          file: options.file,
          dbname,
          clean: options.clean,
          noOwner: options.noOwner,
          jobs: options.jobs,
          binDir: options.binDir,
        });
  const result = await runCommand({
    argv,
    env: toolEnv(options.url, options.env),
    redact: secretsOf(options.url),
    lease: options.lease,
    timeoutMs: options.timeoutMs,
  });
  // runCommand stopped it because the restore was cancelled: say so, so the run ends cancelled, not failed.
  if (result.exitCode !== 0 && activityCancelled())
    throw new CancelledFailure('the restore was cancelled and pg_restore stopped; nothing was changed');
  if (result.exitCode !== 0)
    throw new Error(
      `${describeFailure(result, argv[0].endsWith('psql') ? 'psql' : 'pg_restore')}\nnothing was changed (the restore runs in one transaction)`,
    );
  return { durationMs: result.durationMs };
}

async function replaceDatabase(options: RestoreDatabaseOptions): Promise<{ durationMs: number }> {
  const started = Date.now();
  const dbname = parsePostgresUrl(options.url).database;
  const env = toolEnv(options.url, options.env);
  const redact = secretsOf(options.url);
  const stem = `${options.file.replace(/\/+$/, '')}.restore-${process.pid}-${randomBytes(4).toString('hex')}`;
  const before = `${stem}.replace.sql`;
  const script = options.format === 'plain' ? options.file : `${stem}.sql`;
  try {
    await writeFile(before, replaceSchemasSql(options.schemas ?? [], options.excludeSchemas ?? []), { mode: 0o600 });
    if (options.format !== 'plain') {
      const argv = pgRestoreScriptArgv({
        file: options.file,
        script,
        noOwner: options.noOwner,
        binDir: options.binDir,
      });
      const result = await runCommand({ argv, env, redact, lease: options.lease, timeoutMs: options.timeoutMs });
      if (result.exitCode !== 0 && activityCancelled())
        throw new CancelledFailure('the restore was cancelled and pg_restore stopped; nothing was changed');
      if (result.exitCode !== 0)
        throw new Error(`${describeFailure(result, 'pg_restore')}\nnothing was changed (the dump could not be read)`);
    }
    const argv = psqlRestoreArgv({ file: script, before, dbname, binDir: options.binDir });
    const result = await runCommand({ argv, env, redact, lease: options.lease, timeoutMs: options.timeoutMs });
    if (result.exitCode !== 0 && activityCancelled())
      throw new CancelledFailure('the restore was cancelled and psql stopped; nothing was changed');
    if (result.exitCode !== 0)
      throw new Error(`${describeFailure(result, 'psql')}\nnothing was changed (the restore runs in one transaction)`);
  } finally {
    await rm(before, { force: true });
    if (script !== options.file) await rm(script, { force: true });
  }
  return { durationMs: Date.now() - started };
}

function activityCancelled(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false; // not running as an activity
  }
}

// ---- scratch databases ----------------------------------------------------------------------------

/** Runs SQL statements on the server of `url`, connected to its database. */
export async function withPg<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ ...pgClientConfig(url), connectionTimeoutMillis: 15_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The `-n` patterns that match at least one schema of the URL's database, in their order: pg_dump stops with
 * "no matching schemas were found" when none does (a schema the app's first migration has yet to create).
 */
export async function presentSchemaPatterns(url: string, patterns: readonly string[]): Promise<string[]> {
  if (patterns.length === 0) return [];
  const { rows } = await withPg(url, (client) =>
    client.query<{ i: string }>(
      'SELECT i FROM unnest($1::text[]) WITH ORDINALITY AS p(regex, i) ' +
        'WHERE EXISTS (SELECT 1 FROM pg_namespace WHERE nspname ~ p.regex)',
      [patterns.map(schemaPatternRegex)],
    ),
  );
  const present = new Set(rows.map((row) => Number(row.i) - 1));
  return patterns.filter((_, index) => present.has(index));
}

/** Creates an empty database on the server of `url` (dropping a leftover of the same name first). */
export async function createScratchDatabase(url: string, name: string): Promise<string> {
  await withPg(url, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  });
  return withDatabase(url, name);
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  await withPg(url, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

export async function databaseExists(url: string, name: string): Promise<boolean> {
  return withPg(
    url,
    async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1,
  );
}
