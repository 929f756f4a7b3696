/** How runs read in a terminal: the end of a run, a history row, a status page. Pure: tested as text. */
import type { Outcome } from '../common/progress';
import { formatDuration } from '../common/duration';
import { formatStep, NO_COLOR, waitingLines, type Palette } from './progress-view';
import type { RunDescription, RunEnd, RunRef, RunSummary } from '../client/runs';

const OUTCOME_MARK: Record<Outcome, string> = {
  succeeded: '✓',
  rolled_back: '↩',
  failed: '✗',
  cancelled: '⊘',
  unreachable: '⚠',
};

function outcomePaint(outcome: string | undefined, colors: Palette): (text: string) => string {
  if (outcome === 'succeeded') return colors.ok;
  if (outcome === 'rolled_back' || outcome === 'failed' || outcome === 'cancelled' || outcome === 'unreachable')
    return colors.bad;
  return colors.busy;
}

function runTime(start?: string, end?: string): string | undefined {
  if (!start || !end) return undefined;
  return formatDuration(Date.parse(end) - Date.parse(start));
}

export function startedLines(run: RunRef, what: string, colors: Palette = NO_COLOR): string[] {
  return [`${colors.bold(what)} ${colors.dim(`(${run.workflowId})`)}`, `  ${run.url}`];
}

export function noWaitLines(run: RunRef, what: string, colors: Palette = NO_COLOR): string[] {
  return [
    `started ${colors.bold(what)}: ${run.workflowId}`,
    `  ${run.url}`,
    `  follow it with: runbook status ${run.workflowId}`,
  ];
}

/** The closing lines of a watched run: outcome, summary, the error to act on, the UI link. */
export function endLines(end: RunEnd, what: string, colors: Palette = NO_COLOR): string[] {
  const paint = outcomePaint(end.outcome, colors);
  const took = runTime(end.report?.startedAt, end.report?.finishedAt);
  const head = `${paint(`${OUTCOME_MARK[end.outcome] ?? '?'} ${what} ${end.outcome.replace('_', ' ')}`)}${took ? ` in ${took}` : ''}`;
  const summary = end.report?.summary ?? end.summary;
  const lines = [summary ? `${head}: ${summary}` : head];
  if (end.error && end.error !== summary && end.outcome !== 'succeeded')
    lines.push(`  ${colors.bad(`error: ${end.error}`)}`);
  if (end.report?.release) lines.push(`  release ${end.report.release}`);
  lines.push(`  ${end.url}`);
  return lines;
}

/** One run per line for `runbook history`: when, what, outcome, and the link. */
export function historyLines(runs: RunSummary[], colors: Palette = NO_COLOR): string[] {
  if (runs.length === 0) return ['no runs match'];
  return runs.flatMap((run) => {
    const state = run.outcome ?? run.status.toLowerCase();
    const took = runTime(run.startTime, run.closeTime);
    const what = run.summary ?? [run.kind, run.app, run.ref].filter(Boolean).join(' ');
    return [
      `${run.startTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}  ${outcomePaint(state, colors)(state.padEnd(11))}  ${what}${took ? colors.dim(` (${took})`) : ''}`,
      `  ${colors.dim(run.workflowId)}  ${run.url}`,
    ];
  });
}

/** `runbook status`: the run's facts, its steps (live or final), how it ended. */
export function statusLines(run: RunDescription, now: number, colors: Palette = NO_COLOR): string[] {
  const state = run.end?.outcome ?? run.progress?.state ?? run.status.toLowerCase();
  const lines = [
    `${colors.bold(`${run.kind}${run.app ? ` ${run.app}` : ''}${run.ref ? ` ${run.ref}` : ''}`)}  ${outcomePaint(state, colors)(state.replace('_', ' '))}`,
    `  workflow ${run.workflowId}  run ${run.runId}`,
    `  started ${run.startTime}${run.closeTime ? `, closed ${run.closeTime}` : ''}`,
  ];
  const summary = run.end?.report?.summary ?? run.summary;
  if (summary) lines.push(`  ${summary}`);
  const steps = run.end?.report?.steps ?? run.progress?.steps ?? [];
  const width = steps.reduce((w, s) => Math.max(w, s.name.length), 0);
  for (const step of steps) lines.push(formatStep(step, now, colors, width));
  if (run.status === 'RUNNING' && !run.progress)
    lines.push(colors.dim(`  (no live steps: no worker answered on task queue ${run.taskQueue})`));
  if (run.progress) lines.push(...waitingLines(run.progress, run.workflowId).map((line) => `  ${line}`));
  if (run.end?.error && run.end.outcome !== 'succeeded') lines.push(`  ${colors.bad(`error: ${run.end.error}`)}`);
  if (run.end && !run.end.report && run.end.result !== undefined)
    lines.push(`  result: ${JSON.stringify(run.end.result)}`);
  lines.push(`  ${run.url}`);
  return lines;
}
