import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { failure } from '../common/failures';
import { writeFileAtomic } from './atomic-write';

/**
 * Runbook's private folder on a host (RUNBOOK_STATE_DIR; default /var/lib/runbook for root, else
 * ~/.local/state/runbook): records of the processes Runbook runs, which it later signals. It must belong
 * to the worker's user and be writable by nobody else, so no other user can plant a record or a symlink
 * there; every file in it is opened without following symlinks.
 */
export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RUNBOOK_STATE_DIR) return path.resolve(env.RUNBOOK_STATE_DIR);
  if (process.geteuid?.() === 0) return '/var/lib/runbook';
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'runbook');
}

const checked = new Set<string>();

/** A folder under the state root, created (mode 0700) and checked on first use. */
export function stateDir(...parts: string[]): string {
  const root = stateRoot();
  let dir = root;
  for (const part of ['', ...parts]) {
    dir = part ? path.join(dir, part) : dir;
    if (checked.has(dir)) continue;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    assertPrivate(dir);
    checked.add(dir);
  }
  return dir;
}

function assertPrivate(dir: string): void {
  const stat = lstatSync(dir);
  const uid = process.geteuid?.() ?? stat.uid;
  const problem = stat.isSymbolicLink()
    ? 'is a symbolic link'
    : !stat.isDirectory()
      ? 'is not a directory'
      : stat.uid !== uid
        ? `belongs to uid ${stat.uid}, not to the worker's user (uid ${uid})`
        : (stat.mode & 0o022) !== 0
          ? `is writable by other users (mode ${(stat.mode & 0o777).toString(8)})`
          : undefined;
  if (problem)
    throw failure(
      'UnsafeStateDir',
      `Runbook's state folder ${dir} ${problem}: it keeps the records of processes Runbook signals, so only the worker's user may write it; remove it (Runbook recreates it with mode 0700) or set RUNBOOK_STATE_DIR to such a folder`,
    );
}

/**
 * Writes a record readable by the worker's user only, atomically (a crash leaves the old or the new) and,
 * unless `durable: false`, flushed to disk (see writeFileAtomic).
 */
export async function writeStateFile(file: string, text: string, options: { durable?: boolean } = {}): Promise<void> {
  await writeFileAtomic(file, text, 0o600, options);
}

/** A regular file's text, or undefined when it is missing, a symlink or something else. */
export function readStateFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd, 'utf8') : undefined;
  } finally {
    closeSync(fd);
  }
}

export function readStateJson<T>(file: string): T | undefined {
  const text = readStateFile(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export function removeStateFile(file: string): void {
  rmSync(file, { force: true });
}

/** The names of the files in a state folder, without temporary ones. */
export function stateFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => !name.endsWith('.tmp'));
  } catch {
    return [];
  }
}

/** A file name for a key of any length or alphabet: readable, unique by its hash. */
export function stateFileName(key: string, extension: string): string {
  const readable = key.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(-80);
  return `${readable}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}${extension}`;
}

/** The task queue of the running activity (`runbook-host-<host>`), which scopes a record to one host. */
export function hostQueue(): string {
  try {
    return Context.current().info.taskQueue;
  } catch {
    return 'local';
  }
}
