import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { failure } from '../common/failures';
import { reportProgress } from './attempt';
import { beginAttempt, signalTree } from './containment';
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
   * A name for the work this command does on this host (a step of a deploy, a job's date, a dump). The
   * running command is recorded under it, so a retry after a worker crash finds everything its previous
   * attempt left running and stops it before starting again: two copies never run at once.
   */
  lease?: string;
  /** Text passed on stdin. */
  input?: string;
  /** Extra facts for each heartbeat, such as the bytes a dump has written so far. */
  heartbeatDetails?: () => Record<string, unknown>;
  /** Stops the command (as a cancellation does) when aborted: the caller no longer wants its work. */
  abort?: AbortSignal;
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
 * activity). Nothing the command starts outlives it (see containment): when it exits, whatever it left
 * running is killed; when the activity is cancelled or times out, all of it is stopped; when the worker
 * dies, its reaper ends it.
 */
export async function runCommand(options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const context = currentActivityContext();
  const attempt = await beginAttempt({ argv: options.argv, env: options.env, lease: options.lease });
  if (options.cwd && !existsSync(options.cwd)) {
    await attempt.finish();
    throw failure(
      'MissingDirectory',
      `working directory ${options.cwd} does not exist (running ${options.argv[0]}); create it or fix the cwd in the manifest`,
    );
  }
  const child = await attempt.spawn({ cwd: options.cwd, stdin: options.input !== undefined });
  if (options.input !== undefined) {
    // A command may exit (or be stopped) before reading all of it: the broken pipe is its outcome, not an error.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input);
  }
  const tailBytes = options.tailBytes ?? 8_192;
  let stdout = '';
  let stderr = '';
  const streamed = options.stdout && child.stdout ? options.stdout(child.stdout) : undefined;
  streamed?.catch(() => undefined); // awaited after the exit; this only marks it handled meanwhile
  if (!streamed) child.stdout?.on('data', (chunk: Buffer) => (stdout = keepTail(stdout + chunk.toString(), tailBytes)));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = keepTail(stderr + chunk.toString(), tailBytes)));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  let timedOut = false;
  reportProgress(() => ({ pid: child.pid, elapsedMs: Date.now() - started, ...options.heartbeatDetails?.() }));
  const stop = () => {
    signalTree(attempt.tree, 'SIGTERM');
    setTimeout(() => signalTree(attempt.tree, 'SIGKILL'), 5_000).unref();
  };
  const timeout = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs)
    : undefined;
  context?.cancelled.catch(stop);
  if (options.abort?.aborted) stop();
  else options.abort?.addEventListener('abort', stop, { once: true });

  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) => resolve({ code, signal }));
      },
    );
    // What the command left running (a daemon, a background job) dies now; then its output pipes close.
    await attempt.finish();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
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
    await attempt.finish();
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
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
