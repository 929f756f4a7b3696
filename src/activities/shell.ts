import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { failure } from '../common/failures';
import { reportProgress } from './attempt';
import { redact } from './redact';

export interface RunOptions {
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Values to mask in the output kept for history (secrets' values). */
  redact?: string[];
  /** Bytes of stdout/stderr kept for the result. */
  tailBytes?: number;
  /**
   * A file recording the running process's pid. A retry after a worker crash finds the process its
   * previous attempt left running and stops it before starting again, so two copies never run at once.
   */
  pidFile?: string;
  /** Text passed on stdin. */
  input?: string;
  /** Extra facts for each heartbeat, such as the bytes a dump has written so far. */
  heartbeatDetails?: () => Record<string, unknown>;
  /** Consumes stdout whole (a dump streamed through its hash into a file); then no stdout tail is kept. */
  stdout?: (stream: Readable) => Promise<void>;
}

export interface RunResult {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  stdoutTail: string;
  stderrTail: string;
  timedOut: boolean;
}

/**
 * Runs one command without a shell, reporting its pid in the attempt's heartbeats (when called from an
 * activity), stopping its whole process group when the activity is cancelled or times out.
 */
export async function runCommand(options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const context = currentActivityContext();
  if (options.pidFile) await stopLeftover(options.pidFile);
  if (options.cwd && !existsSync(options.cwd))
    throw failure(
      'MissingDirectory',
      `working directory ${options.cwd} does not exist (running ${options.argv[0]}); create it or fix the cwd in the manifest`,
    );
  const argv = withParentDeathSignal(options.argv);
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true, // own process group: a stop reaches the command's children too
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  if (options.pidFile && child.pid) {
    mkdirSync(path.dirname(options.pidFile), { recursive: true });
    writeFileSync(options.pidFile, String(child.pid));
  }
  const tailBytes = options.tailBytes ?? 8_192;
  let stdout = '';
  let stderr = '';
  const streamed = options.stdout && child.stdout ? options.stdout(child.stdout) : undefined;
  streamed?.catch(() => undefined); // awaited after the exit; this only marks it handled meanwhile
  if (!streamed) child.stdout?.on('data', (chunk: Buffer) => (stdout = keepTail(stdout + chunk.toString(), tailBytes)));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = keepTail(stderr + chunk.toString(), tailBytes)));

  let timedOut = false;
  reportProgress(() => ({ pid: child.pid, elapsedMs: Date.now() - started, ...options.heartbeatDetails?.() }));
  const timeout = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        killGroup(child.pid, 'SIGTERM');
        setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5_000).unref();
      }, options.timeoutMs)
    : undefined;
  const onCancel = () => {
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5_000).unref();
  };
  context?.cancelled.catch(onCancel);

  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal }));
      },
    );
    await streamed;
    return {
      argv: options.argv,
      exitCode: code,
      signal,
      durationMs: Date.now() - started,
      stdoutTail: redact(stdout, options.redact),
      stderrTail: redact(stderr, options.redact),
      timedOut,
    };
  } finally {
    if (timeout) clearTimeout(timeout);
    if (options.pidFile) rmSync(options.pidFile, { force: true });
  }
}

let setprivPath: string | null | undefined;

/**
 * A command dies with the worker that started it (`setpriv --pdeathsig KILL`, util-linux): a crashed
 * worker must not leave a step finishing unrecorded behind its back, or the retry would run it twice.
 */
export function withParentDeathSignal(argv: string[]): string[] {
  if (setprivPath === undefined) {
    setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  }
  return setprivPath ? [setprivPath, '--pdeathsig', 'KILL', '--', ...argv] : argv;
}

/** The last lines of a command's output, for a failure message a person can act on. */
export function describeFailure(result: RunResult, label: string): string {
  const how = result.timedOut
    ? 'timed out'
    : result.signal
      ? `was killed by ${result.signal}`
      : `exited with status ${result.exitCode}`;
  const output = (result.stderrTail.trim() || result.stdoutTail.trim()).split('\n').slice(-8).join('\n');
  return `${label} ${how}${output ? `:\n${output}` : ''}`;
}

function keepTail(text: string, bytes: number): string {
  return text.length > bytes ? text.slice(text.length - bytes) : text;
}

function currentActivityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Whether a process exists and is not a zombie (an orphan nobody has reaped yet counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** Stops the process a crashed attempt left running (recorded in its pid file) and removes the file. */
export async function stopLeftover(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (pid > 0 && isAlive(pid)) {
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) killGroup(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}
