import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/devserver/ports';

export interface PostgresInstance {
  url: string;
  port: number;
  binDir: string;
  process: ChildProcess;
  dataDir: string;
}

/** The newest PostgreSQL server binaries from Debian's packages (PG_BIN overrides). */
export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    : [];
  if (versions.length === 0)
    throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql; run `make setup`');
  versions.sort((a, b) => Number(b) - Number(a));
  return path.join(root, versions[0], 'bin');
}

/** initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user. */
function asClusterOwner(argv: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
}

function chownToPostgres(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('running as root needs the postgres system user (apt-get install postgresql)');
  chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
}

/** A throwaway PostgreSQL cluster on a free port: trust auth, no fsync, gone when stopped. */
export async function startPostgres(): Promise<PostgresInstance> {
  const binDir = postgresBinDir();
  const base = mkdtempSync(path.join(os.tmpdir(), 'runbook-pg-'));
  chownToPostgres(base);
  const dataDir = path.join(base, 'data');
  const initdb = asClusterOwner([
    path.join(binDir, 'initdb'),
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'runbook',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ]);
  const init = spawnSync(initdb[0], initdb.slice(1), { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const argv = asClusterOwner([
    path.join(binDir, 'postgres'),
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    base,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ]);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `postgresql://runbook@127.0.0.1:${port}/postgres`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.end();
  }, 30_000);
  return { url, port, binDir, process: child, dataDir: base };
}

/** Fast shutdown of the postmaster itself (as root, `runuser` does not pass signals on). */
export async function stopPostgres(instance: PostgresInstance): Promise<void> {
  const pidFile = path.join(instance.dataDir, 'data', 'postmaster.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined;
  if (pid) {
    try {
      process.kill(pid, 'SIGINT');
      await waitFor(async () => {
        if (isAlive(pid)) throw new Error('postgres still running');
      }, 10_000).catch(() => undefined);
    } catch {
      // already gone
    }
  }
  await stopChild(instance.process, 'SIGKILL');
  rmSync(instance.dataDir, { recursive: true, force: true });
}

/** A fresh database in the harness's cluster, for one test file. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` with a connection to `url`, closed afterwards. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function sql(url: string, text: string): Promise<void> {
  await withClient(url, (client) => client.query(text));
}

/** The first column of every row a query returns. */
export async function queryColumn(url: string, text: string): Promise<unknown[]> {
  return withClient(url, async (client) =>
    (await client.query(text)).rows.map((row: Record<string, unknown>) => Object.values(row)[0]),
  );
}

export async function waitFor(probe: () => Promise<void>, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await probe();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
