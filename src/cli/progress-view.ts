/**
 * Shows a run's steps while it runs: redrawn in place on a terminal, and as plain lines (only steps that
 * changed) when stdout is a pipe or a log file, so CI logs read top to bottom.
 */
import pc from 'picocolors';
import { formatDuration } from '../common/duration';
import type { Progress, StepProgress, StepStatus } from '../common/progress';

type Paint = (text: string) => string;
export interface Palette {
  ok: Paint;
  bad: Paint;
  busy: Paint;
  dim: Paint;
  bold: Paint;
}

export const NO_COLOR: Palette = { ok: String, bad: String, busy: String, dim: String, bold: String };

export function palette(enabled: boolean): Palette {
  if (!enabled) return NO_COLOR;
  const c = pc.createColors(true);
  return { ok: c.green, bad: c.red, busy: c.cyan, dim: c.dim, bold: c.bold };
}

const MARKS: Record<StepStatus, { mark: string; paint: keyof Palette }> = {
  pending: { mark: '·', paint: 'dim' },
  running: { mark: '▸', paint: 'busy' },
  waiting: { mark: '⏸', paint: 'busy' },
  succeeded: { mark: '✓', paint: 'ok' },
  failed: { mark: '✗', paint: 'bad' },
  skipped: { mark: '–', paint: 'dim' },
  compensating: { mark: '↺', paint: 'busy' },
  compensated: { mark: '↩', paint: 'ok' },
};

/** A run stopped at its approval gate, whether the workflow says so in its state or in a waiting step. */
export function isWaitingForApproval(progress: Pick<Progress, 'state' | 'steps' | 'waiting'>): boolean {
  if (progress.waiting) return progress.waiting.for === 'approval';
  return progress.state === 'waiting-approval' || progress.steps.some((s) => s.status === 'waiting');
}

/** " until 03:12:05Z (then it will roll back)": when a wait ends by itself. */
function untilText(until: string | undefined, onTimeout: string | undefined): string {
  if (!until) return '';
  const time = until.replace(/^.*T/, '').replace(/\.\d+Z$/, 'Z');
  return ` until ${time}${onTimeout ? ` (then it will ${onTimeout})` : ''}`;
}

/**
 * What a waiting run needs from its operator, and the commands that give it: approve/abort at the gate,
 * retry/skip/rollback-now for a failed step (with its error and output), resume after a pause.
 */
export function waitingLines(progress: Progress, workflowId?: string): string[] {
  const waiting = progress.waiting;
  const run = (update: string) => `runbook ${update} ${workflowId}`;
  if (!waiting) {
    if (!isWaitingForApproval(progress)) return [];
    return [`waiting for approval${workflowId ? `: ${run('approve')}  (or ${run('abort')})` : ''}`];
  }
  const until = untilText(waiting.until, waiting.onTimeout);
  const [first, ...others] = waiting.accepts.map(run);
  switch (waiting.for) {
    case 'approval':
      return [`waiting for approval${until}${workflowId ? `: ${first}  (or ${others.join(', ')})` : ''}`];
    case 'resume':
      return [`paused before ${waiting.step}${until}${workflowId ? `: ${first}  (or ${run('cancel')})` : ''}`];
    case 'decision':
      return [
        `waiting for a decision on ${waiting.step}${until}${workflowId ? ':' : ''}`,
        ...(waiting.error ? [`  error: ${waiting.error}`] : []),
        ...(waiting.outputTail ? waiting.outputTail.split('\n').map((line) => `  | ${line}`) : []),
        ...(workflowId ? [`  ${[first, ...others].join('  |  ')}`] : []),
      ];
  }
}

/** How long a step took, or has been going (from its workflow start time) while it runs. */
export function stepElapsed(step: StepProgress, now: number): number | undefined {
  if (step.durationMs !== undefined) return step.durationMs;
  if (step.startedAt && (step.status === 'running' || step.status === 'waiting' || step.status === 'compensating'))
    return Math.max(0, now - Date.parse(step.startedAt));
  return undefined;
}

/** One step as a line: mark, name, status, elapsed time, and its message. */
export function formatStep(step: StepProgress, now: number, colors: Palette = NO_COLOR, nameWidth = 0): string {
  const { mark, paint } = MARKS[step.status] ?? MARKS.pending;
  const elapsed = stepElapsed(step, now);
  const parts = [`${colors[paint](mark)} ${step.name.padEnd(nameWidth)}`, colors[paint](step.status)];
  if (elapsed !== undefined) parts.push(colors.dim(formatDuration(elapsed)));
  if (step.until && step.status === 'running')
    parts.push(colors.busy(`${formatDuration(Math.max(0, Date.parse(step.until) - now))} left`));
  let line = `  ${parts.join('  ')}`;
  if (step.message) line += `  ${step.status === 'failed' ? colors.bad(step.message) : colors.dim(step.message)}`;
  return line;
}

export interface ProgressView {
  update(progress: Progress): void;
  /** Leaves the last state on screen and restores the cursor. */
  finish(): void;
}

export interface ProgressViewOptions {
  /** Redraw in place (a terminal); otherwise print changed steps as lines. */
  live: boolean;
  colors?: Palette;
  /** Terminal width: longer lines are cut so in-place redraws stay aligned. */
  columns?: number;
  now?: () => number;
  /** Terminal height: a live block taller than this folds its finished steps into one line. */
  rows?: number;
  /** The run's workflow id: while it waits, the view shows the commands that answer it. */
  workflowId?: string;
}

const ESC = '\u001b[';

function waiting(progress: Progress, options: ProgressViewOptions): string[] {
  return waitingLines(progress, options.workflowId).map((line) => `  ${line}`);
}

export function createProgressView(stream: NodeJS.WritableStream, options: ProgressViewOptions): ProgressView {
  return options.live ? liveView(stream, options) : lineView(stream, options);
}

function lineView(stream: NodeJS.WritableStream, options: ProgressViewOptions): ProgressView {
  const colors = options.colors ?? NO_COLOR;
  const now = options.now ?? Date.now;
  const printed = new Map<string, string>();
  let shown = '';
  return {
    update(progress) {
      for (const step of progress.steps) {
        if (step.status === 'pending') continue;
        const key = `${step.status}\u0000${step.message ?? ''}`;
        if (printed.get(step.name) === key) continue;
        printed.set(step.name, key);
        stream.write(`${formatStep(step, now(), colors)}\n`);
      }
      const lines = waiting(progress, options);
      const text = lines.join('\n');
      if (text && text !== shown) stream.write(`${lines.map((line) => colors.busy(line)).join('\n')}\n`);
      shown = text;
    },
    finish() {},
  };
}

function liveView(stream: NodeJS.WritableStream, options: ProgressViewOptions): ProgressView {
  const colors = options.colors ?? NO_COLOR;
  const now = options.now ?? Date.now;
  let drawn = 0;
  let last: Progress | undefined;
  let finished = false;
  const draw = (complete = false) => {
    if (!last) return;
    const width = last.steps.reduce((w, s) => Math.max(w, s.name.length), 0);
    const room = complete || !options.rows ? Infinity : Math.max(3, options.rows - 2);
    const { steps, hiddenDone, hiddenLater } = foldSteps(last.steps, room);
    const lines = steps.map((step) => formatStep(step, now(), colors, width));
    if (hiddenDone > 0) lines.unshift(colors.dim(`  ✓ ${hiddenDone} earlier step(s) done`));
    if (hiddenLater > 0) lines.push(colors.dim(`  … ${hiddenLater} more step(s)`));
    lines.push(...waiting(last, options).map((line) => colors.busy(line)));
    for (const [i, line] of lines.entries()) lines[i] = cut(line, options.columns);
    let out = drawn > 0 ? `${ESC}${drawn}A` : '';
    for (const line of lines) out += `${ESC}2K${line}\n`;
    for (let extra = lines.length; extra < drawn; extra += 1) out += `${ESC}2K\n`;
    stream.write(out);
    drawn = Math.max(drawn, lines.length);
  };
  // Elapsed times keep ticking between polls.
  const ticker = setInterval(() => draw(), 250);
  ticker.unref();
  stream.write(`${ESC}?25l`);
  const restoreCursor = () => stream.write(`${ESC}?25h`);
  process.once('exit', restoreCursor);
  return {
    update(progress) {
      if (finished) return;
      last = progress;
      draw();
    },
    finish() {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      // The last frame lists every step, even if it scrolls: nothing is redrawn after it.
      draw(true);
      restoreCursor();
      process.removeListener('exit', restoreCursor);
    },
  };
}

/**
 * Fits a live block into `room` lines (cursor-up cannot reach above the screen): the oldest finished steps
 * fold into one line first, then the last steps are left out.
 */
export function foldSteps(
  all: StepProgress[],
  room: number,
): { steps: StepProgress[]; hiddenDone: number; hiddenLater: number } {
  if (all.length <= room) return { steps: all, hiddenDone: 0, hiddenLater: 0 };
  let excess = all.length - room + 1;
  const steps: StepProgress[] = [];
  let hiddenDone = 0;
  for (const step of all) {
    if (excess > 0 && (step.status === 'succeeded' || step.status === 'skipped')) {
      hiddenDone += 1;
      excess -= 1;
    } else steps.push(step);
  }
  const budget = room - (hiddenDone > 0 ? 1 : 0);
  const hiddenLater = steps.length <= budget ? 0 : steps.length - Math.max(1, budget - 1);
  return { steps: steps.slice(0, steps.length - hiddenLater), hiddenDone, hiddenLater };
}

/** Cuts a line with colour codes to a visible width. */
function cut(line: string, columns: number | undefined): string {
  if (!columns) return line;
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i += 1) {
    if (line[i] === '\u001b') {
      const end = line.indexOf('m', i);
      if (end === -1) break;
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible >= columns - 1) {
      out += `${ESC}0m`;
      break;
    }
    out += line[i];
    visible += 1;
  }
  return out;
}
