import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  defineQuery,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type { Progress, RunKind, StepProgress, Waiting } from '../common/progress';
import { isoNow, workflowNow } from './clock';

export const progressQuery = defineQuery<Progress>('progress');

/**
 * The steps of a run as the `progress` query and the Web UI's "current details" show them. Every
 * workflow runs its steps through one tracker.
 */
export class ProgressTracker {
  private readonly steps: StepProgress[] = [];
  state: Progress['state'] = 'running';
  private waitingFor?: Waiting;

  constructor(
    readonly kind: RunKind,
    readonly app: string,
  ) {
    setHandler(progressQuery, () => this.snapshot());
  }

  snapshot(): Progress {
    return {
      kind: this.kind,
      app: this.app,
      state: this.state,
      steps: this.steps.map((s) => ({ ...s })),
      ...(this.waitingFor ? { waiting: { ...this.waitingFor } } : {}),
    };
  }

  /** What the run waits for from an operator (shown by the query and the Web UI), or nothing. */
  get waiting(): Waiting | undefined {
    return this.waitingFor;
  }

  set waiting(waiting: Waiting | undefined) {
    this.waitingFor = waiting;
    this.publish();
  }

  /** The step going on now (running, waiting or being undone), if any. */
  current(): StepProgress | undefined {
    return [...this.steps]
      .reverse()
      .find((s) => s.status === 'running' || s.status === 'waiting' || s.status === 'compensating');
  }

  /** Lists steps ahead of time so the query shows what is still to come. */
  plan(names: string[]): void {
    for (const name of names) if (!this.find(name)) this.steps.push({ name, status: 'pending' });
  }

  /** Runs one step, recording start, duration and outcome; rethrows its failure. */
  async run<T>(
    name: string,
    fn: () => Promise<T>,
    describe?: (result: T) => string | undefined,
    until?: string,
  ): Promise<T> {
    const step = this.begin(name, until);
    const started = workflowNow();
    try {
      const result = await fn();
      step.status = 'succeeded';
      step.message = describe?.(result);
      return result;
    } catch (error) {
      step.status = 'failed';
      step.message = failureMessage(error);
      throw error;
    } finally {
      step.durationMs = workflowNow() - started;
      delete step.until;
      this.publish();
    }
  }

  skip(name: string, why: string): void {
    const step = this.find(name) ?? this.add(name);
    step.status = 'skipped';
    step.message = why;
    this.publish();
  }

  /** Marks a step as waiting (an approval gate) until `run` or `skip` settles it. */
  wait(name: string, message: string): void {
    const step = this.begin(name);
    step.status = 'waiting';
    step.message = message;
    this.publish();
  }

  list(): StepProgress[] {
    return this.steps.map((s) => ({ ...s }));
  }

  private begin(name: string, until?: string): StepProgress {
    const step = this.find(name) ?? this.add(name);
    step.status = 'running';
    step.startedAt = isoNow();
    step.message = undefined;
    step.durationMs = undefined;
    if (until) step.until = until;
    this.publish();
    return step;
  }

  private add(name: string): StepProgress {
    const step: StepProgress = { name, status: 'pending' };
    this.steps.push(step);
    return step;
  }

  private find(name: string): StepProgress | undefined {
    return this.steps.find((s) => s.name === name);
  }

  private publish(): void {
    const current = this.current();
    const done = this.steps.filter((s) => s.status === 'succeeded' || s.status === 'compensated').length;
    setCurrentDetails(
      `**${this.kind} ${this.app}** — ${done}/${this.steps.length} steps done` +
        (current ? `; now: ${current.name} (${current.status}${current.until ? ` until ${current.until}` : ''})` : '') +
        (this.waitingFor ? `\n\n${waitingDetails(this.waitingFor)}` : ''),
    );
  }
}

/** The Web UI's current details while a run waits: what for, what it accepts (Send Update), until when. */
function waitingDetails(waiting: Waiting): string {
  const lines = [
    `**waiting for ${waiting.for === 'resume' ? 'resume' : waiting.for === 'decision' ? 'a decision' : 'approval'}** at \`${waiting.step}\``,
  ];
  if (waiting.error) lines.push(`error: ${waiting.error}`);
  if (waiting.outputTail) lines.push('```', waiting.outputTail, '```');
  lines.push(`Send Update: ${waiting.accepts.map((u) => `\`${u}\``).join(', ')}`);
  if (waiting.until) lines.push(`until ${waiting.until}${waiting.onTimeout ? `, then ${waiting.onTimeout}` : ''}`);
  return lines.join('\n');
}

/** The message a person can act on, from whatever a step threw (an activity's own message first). */
export function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return failureMessage(error.cause);
  if (error instanceof CancelledFailure) return 'cancelled';
  if (error instanceof ApplicationFailure) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
