import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { withParentDeathSignal } from './parent-death';

/*
 * Forking the worker to start a process costs milliseconds that grow with its size (page tables copied:
 * ~10 ms at 330 MB) and blocks its event loop meanwhile, longer than a no-op step's whole command. The
 * forker is a small Node process of the worker's that starts spare shells for it: it spawns each with
 * pipes, hands the pipes' ends to the worker over its IPC channel (the worker then owns them, as if it had
 * spawned the shell) and reports the shell's exit. It dies the instant the worker dies (parent-death
 * signal), and the shells it started die with it the same way.
 */

/** A command's process as runCommand uses it: one the worker spawned, or one the forker started for it. */
export interface CommandProcess extends EventEmitter {
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
  ref(): void;
  unref(): void;
}

type Message =
  | { id: number; kind: 'pid'; pid: number }
  | { id: number; kind: 'stdin' | 'stdout' | 'stderr' }
  | { id: number; kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { id: number; kind: 'failed' };

// The forker's program (node -e): self-contained, so it runs the same from sources and from dist/.
const FORKER_PROGRAM = `
const { spawn } = require('node:child_process');
const tell = (message, handle) => process.connected && process.send(message, handle, () => undefined);
process.on('disconnect', () => process.exit(0));
process.on('message', ({ id, argv }) => {
  let child;
  try {
    child = spawn(argv[0], argv.slice(1), { env: {}, stdio: 'pipe', detached: true });
  } catch {
    return tell({ id, kind: 'failed' });
  }
  child.once('error', () => undefined);
  if (child.pid === undefined) return tell({ id, kind: 'failed' });
  child.once('exit', (code, signal) => tell({ id, kind: 'exit', code, signal }));
  tell({ id, kind: 'pid', pid: child.pid });
  for (const name of ['stdin', 'stdout', 'stderr']) tell({ id, kind: name }, child[name]);
});
`;

let forker: ChildProcess | undefined;
const started = new Map<number, ForkedProcess>();
let lastId = 0;

/**
 * Starts `argv` (already wrapped to die with its parent) from the forker, with an empty environment and
 * pipes for stdio, in its own process group. Returns at once; the process has its pid and pipes a moment
 * later (`isStarted`). Its ref() and unref() cover its pipes too: unreferenced, nothing of it keeps the
 * worker's loop alive.
 */
export function forkDetached(argv: string[]): CommandProcess {
  const owner = runningForker();
  const child = new ForkedProcess(++lastId, owner);
  started.set(child.id, child);
  referenceChannel();
  owner.send({ id: child.id, argv }, (error: Error | null) => error && child.lost());
  return child;
}

/** Whether a process has its pid and all three pipes and has not exited. */
function isStarted(child: CommandProcess): boolean {
  return (
    child.pid !== undefined &&
    child.stdin !== null &&
    child.stdout !== null &&
    child.stderr !== null &&
    child.exitCode === null &&
    child.signalCode === null
  );
}

/** Resolves once the process has started (true), or has exited or not started within `ms` (false). */
export function whenStarted(child: CommandProcess, ms: number): Promise<boolean> {
  if (isStarted(child)) return Promise.resolve(true);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (started: boolean) => {
      clearTimeout(timer);
      child.off('started', onStarted);
      child.off('exit', onExit);
      resolve(started);
    };
    const onStarted = () => settle(true);
    const onExit = () => settle(false);
    const timer = setTimeout(() => settle(false), ms);
    child.once('started', onStarted);
    child.once('exit', onExit);
  });
}

/** Ends the forker once nothing it started still runs; resolves when it has exited. */
export async function endForker(): Promise<void> {
  const ending = forker;
  const running = [...started.values()].some((p) => p.exitCode === null && p.signalCode === null);
  if (!ending || running) return;
  forker = undefined;
  if (ending.exitCode !== null || ending.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => ending.once('exit', () => resolve()));
  // Referenced again until it has exited: a process awaiting an unreferenced child can end first, mid-shutdown.
  ending.ref();
  ending.kill('SIGKILL');
  await exited;
}

function runningForker(): ChildProcess {
  if (forker?.connected) return forker;
  const argv = withParentDeathSignal([process.execPath, '-e', FORKER_PROGRAM]);
  const child = spawn(argv[0], argv.slice(1), {
    env: {},
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    detached: true, // a Ctrl-C to the worker's group must not end the commands it runs
  });
  child.on('message', (message: Message, handle?: unknown) => started.get(message.id)?.receive(message, handle));
  child.once('error', () => undefined);
  child.once('exit', () => {
    if (forker === child) forker = undefined;
    for (const orphan of started.values()) if (orphan.owner === child) orphan.lost();
  });
  child.unref();
  forker = child;
  referenceChannel();
  return child;
}

/**
 * The forker's channel keeps the worker's loop alive while a process it started is waited on (its exit comes
 * as a message), and not otherwise: a waiting spare must not keep the worker running.
 */
function referenceChannel(): void {
  const channel = forker?.channel;
  if (!channel) return;
  if ([...started.values()].some((p) => p.owner === forker && p.waitedOn())) channel.ref();
  else channel.unref();
}

const STREAMS = ['stdin', 'stdout', 'stderr'] as const;
type StreamName = (typeof STREAMS)[number];
type Stream = (Readable | Writable) & { ref?(): void; unref?(): void };

/** A process the forker started: its pipes are the worker's own, its exit comes as a message. */
class ForkedProcess extends EventEmitter implements CommandProcess {
  pid: number | undefined;
  stdin: Writable | null = null;
  stdout: Readable | null = null;
  stderr: Readable | null = null;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private exited = false;
  private closed = false;
  private referenced = true;
  private open = new Set<StreamName>(STREAMS);
  private pendingSignal: NodeJS.Signals | undefined;

  constructor(
    readonly id: number,
    readonly owner: ChildProcess,
  ) {
    super();
  }

  /** Referenced and not yet exited. */
  waitedOn(): boolean {
    return this.referenced && !this.exited;
  }

  receive(message: Message, handle: unknown): void {
    if (message.kind === 'pid') {
      this.pid = message.pid;
      if (this.pendingSignal) this.kill(this.pendingSignal);
      if (isStarted(this)) this.emit('started');
    } else if (message.kind === 'exit') this.end(message.code, message.signal);
    else if (message.kind === 'failed') this.lost();
    else if (handle) this.attach(message.kind, handle as Stream);
  }

  /** The forker died (and, by their parent-death signal, everything it started) or could not start it. */
  lost(): void {
    for (const name of this.open) if (!this[name]) this.open.delete(name);
    this.end(null, 'SIGKILL');
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    if (this.pid === undefined) {
      this.pendingSignal = signal;
      return true;
    }
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  ref(): void {
    if (this.referenced) return;
    this.referenced = true;
    referenceChannel();
    for (const name of STREAMS) (this[name] as Stream | null)?.ref?.();
  }

  unref(): void {
    if (!this.referenced) return;
    this.referenced = false;
    referenceChannel();
    for (const name of STREAMS) (this[name] as Stream | null)?.unref?.();
  }

  private attach(name: StreamName, stream: Stream): void {
    stream.on('error', () => undefined); // a broken pipe is the command's outcome, told by its exit
    if (!this.referenced) stream.unref?.();
    stream.once('close', () => {
      this.open.delete(name);
      this.closeWhenDone();
    });
    if (name === 'stdin') this.stdin = stream as Writable;
    else this[name] = stream as Readable;
    if (isStarted(this)) this.emit('started');
  }

  private end(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.exitCode = code;
    this.signalCode = signal;
    referenceChannel();
    this.emit('exit', code, signal);
    this.closeWhenDone();
  }

  private closeWhenDone(): void {
    // As a ChildProcess: 'close' once it has exited and its output pipes have closed (stdin does not count).
    if (this.closed || !this.exited || this.open.has('stdout') || this.open.has('stderr')) return;
    this.closed = true;
    started.delete(this.id);
    this.emit('close', this.exitCode, this.signalCode);
  }
}
