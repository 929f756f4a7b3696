/** What the `progress` query of every Runbook workflow returns: each step with its state and timing. */
export type StepStatus =
  'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'compensating' | 'compensated' | 'waiting';

export interface StepProgress {
  name: string;
  status: StepStatus;
  /** ISO time the step started (workflow time). */
  startedAt?: string;
  durationMs?: number;
  message?: string;
  /** ISO time the step ends by itself (a bake's end): views count down to it. */
  until?: string;
}

/** What a run waits for from an operator, and how to give it. */
export interface Waiting {
  /** approval: the approval gate; decision: a failed step under `onFailure: ask`; resume: a pause. */
  for: 'approval' | 'decision' | 'resume';
  /** The step it waits at. */
  step: string;
  /** The Updates it accepts now (`runbook <name> <workflow-id>`). */
  accepts: string[];
  /** ISO time the wait ends by itself, and what happens then. */
  until?: string;
  onTimeout?: string;
  /** For a failed step: its error and the end of its output (secrets redacted). */
  error?: string;
  outputTail?: string;
}

export interface Progress {
  kind: RunKind;
  app: string;
  /** Overall state: running until the workflow returns its outcome. */
  state: 'running' | 'waiting-approval' | 'waiting-decision' | 'paused' | 'compensating' | Outcome;
  steps: StepProgress[];
  /** Set while the run waits for an operator. */
  waiting?: Waiting;
}

/** `schedule` reports are the watcher's alerts about a schedule's slot; `drill` runs are restore drills. */
export type RunKind = 'deploy' | 'rollback' | 'backup' | 'restore' | 'job' | 'drill' | 'schedule';
/** `unreachable`: a host the run needed had no worker within the manifest's unreachableAfter. */
export type Outcome = 'succeeded' | 'rolled_back' | 'failed' | 'cancelled' | 'unreachable';

/** A finished run as records and notifications describe it; no secret values. */
export interface RunReport {
  kind: RunKind;
  app: string;
  outcome: Outcome;
  workflowId: string;
  runId: string;
  /** The run id on the run's start event, which a reset keeps: what records and notifications are keyed by. */
  originalRunId?: string;
  startedAt: string;
  finishedAt: string;
  /** One line for the memo, the deploy log and a mail subject. */
  summary: string;
  steps: StepProgress[];
  /** The error a person can act on, when the run did not succeed. */
  error?: string;
  ref?: string;
  release?: string;
  /** Kind-specific facts (artifact ids, dates processed, hosts). */
  details?: Record<string, unknown>;
  /** The notification's title when the outcome word would mislead (an alert: `… MISSED …`, `… SUSPECT …`). */
  title?: string;
}

export const PROGRESS_QUERY = 'progress';
