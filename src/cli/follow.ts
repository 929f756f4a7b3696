/**
 * What every starting command does after checking its input: start the run, then either return at once
 * (`--no-wait`) or show its steps until it ends; exit 1 when it did not succeed.
 */
import pc from 'picocolors';
import { RunFailedError } from '../client/errors';
import type { Output } from './output';
import { createProgressView, palette } from './progress-view';
import { endLines, noWaitLines, startedLines } from './run-format';
import type { ResultOf, RunEnd, RunInputs, RunRef, Runs, StartableKind } from '../client/runs';

export interface FollowOptions<K extends string = string> {
  wait: boolean;
  /** How often to poll the `progress` query. */
  intervalMs?: number;
  /** Lines for a plain (non-RunReport) result, printed with the outcome. */
  resultLines?: (result: ResultOf<K>) => string[];
  /** The outcome that exits 0 (default succeeded; `runbook cancel` expects cancelled). */
  expect?: RunEnd['outcome'];
  /** When the app's lock is taken, wait for the running deploy to end, then start (instead of exit 2). */
  waitLock?: boolean;
}

export function terminalPalette(stream: NodeJS.WriteStream = process.stdout) {
  return palette(pc.isColorSupported && Boolean(stream.isTTY));
}

export async function startAndFollow<K extends StartableKind>(
  output: Output,
  kind: K,
  input: RunInputs[K],
  what: string,
  options: FollowOptions<K>,
): Promise<RunEnd<K> | undefined> {
  const { checkInput, Runs } = await import('../client/runs');
  const { connect } = await import('../client/connection');
  checkInput(kind, input); // the workflow's own schema: a bad input is exit 2, before anything connects
  const connected = await connect();
  try {
    const runs = new Runs(connected.client, connected.settings);
    const colors = terminalPalette();
    const run = options.waitLock
      ? await runs.startWhenFree(kind, input, (running) =>
          output.info(
            `${what}: waiting for ${running.running.workflowId} to end (${running.detail})\n  ${running.running.url}`,
          ),
        )
      : await runs.start(kind, input);
    if (!options.wait) {
      output.result({ ...run, status: 'started' }, () => noWaitLines(run, what, colors));
      return undefined;
    }
    output.info(startedLines(run, what, colors).join('\n'));
    return await followRun(output, runs, run, what, options);
  } finally {
    await connected.close();
  }
}

/**
 * Shows a run's steps until it ends (Ctrl-C stops watching, not the run), prints how it ended, and throws
 * RunFailedError (exit 1) unless it succeeded.
 */
export async function followRun<K extends string>(
  output: Output,
  runs: Runs,
  run: RunRef<K>,
  what: string,
  options: Omit<FollowOptions<K>, 'wait'>,
): Promise<RunEnd<K>> {
  const colors = terminalPalette();
  const stdout = process.stdout;
  const view = output.json
    ? undefined
    : createProgressView(stdout, {
        live: Boolean(stdout.isTTY),
        colors,
        columns: stdout.columns,
        rows: stdout.rows,
        workflowId: run.workflowId,
      });
  const stopWatching = () => {
    view?.finish();
    process.stderr.write(`\nstopped watching; the run goes on: runbook status ${run.workflowId}\n  ${run.url}\n`);
    process.exit(130);
  };
  process.once('SIGINT', stopWatching);
  let end: RunEnd<K>;
  try {
    end = await runs.watch(
      run,
      (progress) => view?.update(progress),
      options.intervalMs,
      () =>
        process.stderr.write(
          `no worker has answered on task queue ${runs.settings.taskQueue} yet; the run goes on when one polls it (runbook worker, or runbook dev)\n`,
        ),
    );
  } finally {
    process.removeListener('SIGINT', stopWatching);
    view?.finish();
  }
  output.result(end, () => {
    const lines = endLines(end, what, colors);
    if (end.result !== undefined && options.resultLines) lines.splice(1, 0, ...options.resultLines(end.result));
    return lines;
  });
  if (end.outcome !== (options.expect ?? 'succeeded'))
    throw new RunFailedError(`${what} ${end.outcome.replace('_', ' ')}${end.error ? `: ${end.error}` : ''}`);
  return end;
}
