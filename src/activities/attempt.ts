import { spawn } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { failure } from '../common/failures';

/*
 * What every activity attempt shares: the facts its heartbeats carry, the cancellation checks between its
 * phases, and exclusive claims that keep two attempts of the same work from ever acting at once. The
 * heartbeats themselves are sent on a timer by the worker's activity interceptor (src/workers/attempts.ts).
 */

type Details = Record<string, unknown>;
const progressOf = new WeakMap<Context, () => Details>();

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // not inside an activity (the CLI, a unit test)
  }
}

/** What the running attempt's heartbeats report from now on (a pid, bytes written so far). */
export function reportProgress(details: Details | (() => Details)): void {
  const context = currentContext();
  if (context) progressOf.set(context, typeof details === 'function' ? details : () => details);
}

/** The details of the next heartbeat of `context`. */
export function progressDetails(context: Context): Details | undefined {
  try {
    return progressOf.get(context)?.();
  } catch {
    return undefined;
  }
}

/** Ends the attempt (as cancelled) when Temporal cancelled it or timed it out; called between phases. */
export function throwIfCancelled(): void {
  currentContext()?.cancellationSignal.throwIfAborted();
}

/** The attempt number of the running activity (1 outside an activity). */
export function attemptNumber(): number {
  return currentContext()?.info.attempt ?? 1;
}

export interface Claim {
  release(): Promise<void>;
}

let flockPath: string | null | undefined;

function flockBinary(): string {
  if (flockPath === undefined) flockPath = ['/usr/bin/flock', '/bin/flock'].find((p) => existsSync(p)) ?? null;
  if (!flockPath)
    throw failure(
      'MissingTool',
      'flock (util-linux) is not installed on this host; install util-linux so Runbook can keep attempts apart',
    );
  return flockPath;
}

/**
 * Takes an exclusive lock on `lockFile` for the running attempt, waiting (heartbeating, cancellable) while
 * another attempt holds it. The lock is a kernel flock on a file descriptor this process keeps open: it
 * ends when the claim is released or the process dies, however it dies, so it can never go stale. Two
 * claims in one process exclude each other too (each opens the file anew).
 */
export async function claimExclusive(lockFile: string, holder: string): Promise<Claim> {
  const flock = flockBinary();
  await mkdir(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  let waitedMs = 0;
  for (;;) {
    const handle = await open(lockFile, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      // flock(1) locks the open file description it inherits as fd 3, shared with `handle`: the lock stays
      // with this process after flock exits.
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(flock, ['--exclusive', '--wait', '0.5', '3'], {
          stdio: ['ignore', 'ignore', 'ignore', handle.fd],
        });
        child.once('error', reject);
        child.once('close', (exitCode) => resolve(exitCode));
      });
      if (code !== 0 && code !== 1) throw new Error(`flock ${lockFile} exited with ${code}`);
      // The holder before us removes the file as it releases: a lock on a file no longer at that path
      // guards nothing, so open it anew.
      if (code === 0 && (await samePath(handle, lockFile)))
        return {
          async release() {
            await rm(lockFile, { force: true }); // while still holding it, so no one locks a removed file
            await handle.close();
          },
        };
    } catch (error) {
      await handle.close();
      throw error;
    }
    await handle.close();
    waitedMs += 500;
    reportProgress({ waitingForLock: lockFile, holder, waitedMs });
    throwIfCancelled();
  }
}

/** The bytes of a Unix socket address's path (`sun_path`); an abstract name uses them all. */
const SOCKET_NAME_BYTES = 108;
const CLAIM_POLL_MS = 250;

/**
 * A claim that names no file: a listening socket of this process bound to `name` in Linux's abstract socket
 * namespace, which holds one socket per name in a network namespace. Binding is the claim, taken or refused at
 * once by the kernel; the kernel frees the name when the socket is closed or this process dies, however it
 * dies, so it can never go stale. Waits (heartbeating, cancellable) while another socket, of this process or
 * another, holds the name. No helper process or file is involved, so taking it costs microseconds (an attempt
 * claims one for every activity it runs). Every worker of the host must share the network namespace, as they
 * share the state folder; `name` is padded to the whole address so every Node version binds the same one.
 */
export async function claimName(name: string, holder: string): Promise<Claim> {
  const address = `\0${name}`.padEnd(SOCKET_NAME_BYTES, '=');
  if (Buffer.byteLength(address) > SOCKET_NAME_BYTES) throw new Error(`claim name too long: ${name}`);
  let waitedMs = 0;
  for (;;) {
    const server = await bound(address);
    if (server)
      return {
        async release() {
          server.close(); // frees the name at once; the callback only reports the handle closed
        },
      };
    await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
    waitedMs += CLAIM_POLL_MS;
    reportProgress({ waitingForClaim: name, holder, waitedMs });
    throwIfCancelled();
  }
}

/** A server listening on `address`, or undefined while another socket holds it. */
function bound(address: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error),
    );
    server.listen({ path: address }, () => {
      server.unref(); // the claim never keeps the process alive
      resolve(server);
    });
  });
}

async function samePath(handle: FileHandle, file: string): Promise<boolean> {
  const [held, named] = [await handle.stat(), await stat(file).catch(() => undefined)];
  return named !== undefined && held.ino === named.ino && held.dev === named.dev;
}

/** Runs `fn` holding the exclusive claim on `lockFile`. */
export async function withClaim<T>(lockFile: string, holder: string, fn: () => Promise<T>): Promise<T> {
  const claim = await claimExclusive(lockFile, holder);
  try {
    return await fn();
  } finally {
    await claim.release();
  }
}

const LOCK_FILES_KEPT_MS = 7 * 24 * 3_600_000;

/** Deletes lock files a crashed holder left a week ago or more (a released lock removes its file). */
export async function pruneLockDir(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.lock')) continue;
    const file = path.join(dir, name);
    const stats = await stat(file).catch(() => undefined);
    if (stats && now - stats.mtimeMs > LOCK_FILES_KEPT_MS) await rm(file, { force: true });
  }
}
