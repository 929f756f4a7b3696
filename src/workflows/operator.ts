import { condition, defineSignal, defineUpdate, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { SIGNALS, UPDATES, type UpdateOutcome } from '../common/contracts';
import { failure } from '../common/failures';
import { durationMs } from '../common/duration';
import { isoNow, workflowNow } from './clock';
import type { ProgressTracker } from './progress';

export const approveUpdate = defineUpdate<UpdateOutcome, []>(UPDATES.approve);
export const abortUpdate = defineUpdate<UpdateOutcome, [reason?: string]>(UPDATES.abort);
export const retryUpdate = defineUpdate<UpdateOutcome, []>(UPDATES.retry);
export const skipUpdate = defineUpdate<UpdateOutcome, []>(UPDATES.skip);
export const rollbackNowUpdate = defineUpdate<UpdateOutcome, []>(UPDATES.rollbackNow);
export const pauseUpdate = defineUpdate<UpdateOutcome, []>(UPDATES.pause);
export const resumeUpdate = defineUpdate<UpdateOutcome, []>(UPDATES.resume);
export const approveSignal = defineSignal<[]>(SIGNALS.approve);
export const abortSignal = defineSignal<[reason?: string]>(SIGNALS.abort);

/**
 * Runs started before this patch took an `approve` signal sent before the gate as a pre-approval; they keep
 * doing so when replayed. Runs started after it accept approve/abort only while they wait at the gate.
 */
const APPROVAL_ONLY_AT_THE_GATE = 'approval-only-at-the-gate';

/** What an operator decided for a failed step; `timeout` when nobody did in time. */
export type Decision = 'retry' | 'skip' | 'rollback-now' | 'timeout';

/** A failed step waiting for a decision (onFailure: ask). */
export interface FailedStep {
  step: string;
  /** The step's error: its first line, then the end of its output. */
  error: string;
  /** The manifest marks it skippable. */
  skippable: boolean;
}

/**
 * Where a running deploy listens to its operator: the approval gate, a failed step waiting for a decision
 * (onFailure: ask), and a pause between steps. Every Update is checked by a validator against where the run
 * is now, so a decision the run is not waiting for is refused (and leaves no trace in history) instead of
 * being kept for later or silently dropped.
 */
export class OperatorControls {
  private gate?: { step: string; approved: boolean; abortReason?: string };
  private failed?: FailedStep & { decision?: Decision; attempt: number };
  /** A pause asked for (takes effect before the next step), and the step it holds before once it does. */
  private pause?: { before?: string };
  /** Forward steps remain: a pause can still take effect (not while undoing or finishing). */
  pausable = true;
  /** Decisions taken so far, for notifications (each wait is its own message). */
  private waits = 0;
  /** Old semantics: signals count whenever they arrive (see APPROVAL_ONLY_AT_THE_GATE). */
  private readonly early?: { approved: boolean; abortReason?: string };

  constructor(private readonly progress: ProgressTracker) {
    this.early = patched(APPROVAL_ONLY_AT_THE_GATE) ? undefined : { approved: false };
    setHandler(approveUpdate, () => this.approve('update'), { validator: () => this.refuseUnlessAtGate('approve') });
    setHandler(abortUpdate, (reason?: string) => this.abort(reason, 'update'), {
      validator: (reason?: string) => {
        if (reason !== undefined && typeof reason !== 'string')
          throw failure('Refused', 'the reason of an abort must be a string');
        this.refuseUnlessAtGate('abort');
      },
    });
    setHandler(retryUpdate, () => this.decide('retry'), { validator: () => this.refuseUnlessFailed('retry') });
    setHandler(skipUpdate, () => this.decide('skip'), { validator: () => this.refuseUnlessFailed('skip') });
    setHandler(rollbackNowUpdate, () => this.decide('rollback-now'), {
      validator: () => this.refuseUnlessFailed('rollback-now'),
    });
    setHandler(pauseUpdate, () => this.askPause(), { validator: () => this.refusePause() });
    setHandler(resumeUpdate, () => this.resume(), { validator: () => this.refuseResume() });
    setHandler(approveSignal, () => void this.signalled('approve', () => this.approve('signal')));
    setHandler(abortSignal, (reason?: string) => void this.signalled('abort', () => this.abort(reason, 'signal')));
  }

  /**
   * Waits at the approval gate until approve, abort or the timeout. Returns why the deploy may not go on,
   * or undefined when it was approved.
   */
  async approval(step: string, timeout: string, timeoutMs: number): Promise<string | undefined> {
    const gate: NonNullable<OperatorControls['gate']> = { step, approved: false };
    if (this.early) Object.assign(gate, this.early);
    this.gate = gate;
    this.progress.wait(step, 'waiting for approve or abort');
    this.progress.state = 'waiting-approval';
    this.progress.waiting = {
      for: 'approval',
      step,
      accepts: [UPDATES.approve, UPDATES.abort],
      until: new Date(workflowNow() + timeoutMs).toISOString(),
      onTimeout: 'roll back',
    };
    try {
      const decided = await condition(() => gate.approved || gate.abortReason !== undefined, timeoutMs);
      if (gate.abortReason !== undefined) return gate.abortReason;
      return decided ? undefined : `no approval within ${timeout}`;
    } finally {
      this.gate = undefined;
      this.progress.waiting = undefined;
      this.progress.state = 'running';
    }
  }

  /**
   * A step failed under onFailure: ask: waits until an operator decides (retry, skip, rollback-now) or the
   * timeout. `announce` runs once the wait is visible (the notification).
   */
  async decision(failed: FailedStep, timeoutMs: number, announce: (wait: number) => Promise<void>): Promise<Decision> {
    const waiting: NonNullable<OperatorControls['failed']> = { ...failed, attempt: this.waits + 1 };
    this.waits += 1;
    this.failed = waiting;
    const [error, ...output] = failed.error.split('\n');
    this.progress.state = 'waiting-decision';
    this.progress.waiting = {
      for: 'decision',
      step: failed.step,
      accepts: [UPDATES.retry, ...(failed.skippable ? [UPDATES.skip] : []), UPDATES.rollbackNow],
      until: new Date(workflowNow() + timeoutMs).toISOString(),
      onTimeout: 'roll back',
      error,
      ...(output.length > 0 ? { outputTail: output.join('\n') } : {}),
    };
    try {
      await announce(this.waits);
      const decided = await condition(() => waiting.decision !== undefined, timeoutMs);
      return decided ? waiting.decision! : 'timeout';
    } finally {
      this.failed = undefined;
      this.progress.waiting = undefined;
      this.progress.state = 'running';
    }
  }

  /** Before each forward step: holds here while a pause is asked for, until resume or the timeout (throws). */
  async pausePoint(next: string, timeout: string): Promise<void> {
    const pause = this.pause;
    if (!pause) return;
    const timeoutMs = durationMs(timeout);
    pause.before = next;
    this.progress.state = 'paused';
    this.progress.waiting = {
      for: 'resume',
      step: next,
      accepts: [UPDATES.resume],
      until: new Date(workflowNow() + timeoutMs).toISOString(),
      onTimeout: 'roll back',
    };
    try {
      if (!(await condition(() => this.pause !== pause, timeoutMs)))
        throw failure(
          'PauseTimedOut',
          `paused before ${next} for longer than ${timeout} (decisionTimeout) without a resume`,
        );
    } finally {
      if (this.pause === pause) this.pause = undefined;
      this.progress.waiting = undefined;
      this.progress.state = 'running';
    }
  }

  private decide(decision: Exclude<Decision, 'timeout'>): UpdateOutcome {
    const failed = this.failed!;
    failed.decision = decision;
    const message =
      decision === 'retry'
        ? `running ${failed.step} again`
        : decision === 'skip'
          ? `going on without ${failed.step}`
          : 'rolling back now: the undos run, then the previous version serves';
    log.info(`decision: ${decision}`, { step: failed.step });
    return { update: decision, step: failed.step, message };
  }

  private refuseUnlessFailed(update: Exclude<Decision, 'timeout'>): void {
    const { workflowId } = workflowInfo();
    if (!this.failed)
      throw failure(
        'Refused',
        `${workflowId} is not waiting for a decision (${this.doingNow()}); nothing to ${update}. A deploy waits for one only when a step fails under onFailure: ask`,
      );
    if (update === 'skip' && !this.failed.skippable)
      throw failure(
        'Refused',
        `${this.failed.step} may not be skipped: the manifest does not mark it skippable (skippable: true on the step); retry it or roll back (runbook retry|rollback-now ${workflowId})`,
      );
  }

  private askPause(): UpdateOutcome {
    this.pause = {};
    const now = this.progress.current();
    return {
      update: UPDATES.pause,
      step: now?.name ?? '',
      message: `pausing before the next step${now ? ` (${now.name} finishes first)` : ''}; go on with: runbook resume ${workflowInfo().workflowId}`,
    };
  }

  private refusePause(): void {
    const { workflowId } = workflowInfo();
    if (this.pause)
      throw failure(
        'Refused',
        `${workflowId} is already ${this.pause.before ? `paused before ${this.pause.before}` : 'pausing before its next step'}; resume it with runbook resume ${workflowId}`,
      );
    if (this.gate || this.failed)
      throw failure(
        'Refused',
        `${workflowId} is already waiting (${this.gate ? `at ${this.gate.step}` : `for a decision on ${this.failed!.step}`}); nothing to pause`,
      );
    if (!this.pausable)
      throw failure(
        'Refused',
        `${workflowId} has no step left to pause before (${this.doingNow()}); to stop it, runbook cancel ${workflowId}`,
      );
  }

  private resume(): UpdateOutcome {
    const before = this.pause?.before;
    this.pause = undefined;
    return before
      ? { update: UPDATES.resume, step: before, message: `resumed: ${before} starts now` }
      : { update: UPDATES.resume, step: '', message: 'pause withdrawn before it took effect; the deploy goes on' };
  }

  private refuseResume(): void {
    if (!this.pause) {
      const { workflowId } = workflowInfo();
      throw failure('Refused', `${workflowId} is not paused (${this.doingNow()}); nothing to resume`);
    }
  }

  private approve(via: 'update' | 'signal'): UpdateOutcome {
    const step = this.gate?.step ?? 'approval';
    if (this.gate) this.gate.approved = true;
    else if (this.early) this.early.approved = true;
    log.info('approved', { via, step });
    return { update: UPDATES.approve, step, message: `approved at ${isoNow()}; the deploy goes on` };
  }

  private abort(reason: string | undefined, via: 'update' | 'signal'): UpdateOutcome {
    // Runs from before the patch keep their exact reason (replay must decide as they did).
    const why = this.early ? (reason ?? 'aborted by an operator') : reason?.trim() || 'aborted by an operator';
    const step = this.gate?.step ?? 'approval';
    if (this.gate) this.gate.abortReason = why;
    else if (this.early) this.early.abortReason = why;
    log.info('aborted', { via, step, reason: why });
    return { update: UPDATES.abort, step, message: `aborted (${why}); the deploy undoes what it did and ends` };
  }

  /** A signal (older clients, Send Signal) acts like its Update, but cannot be refused: off the gate it is ignored. */
  private signalled(name: string, act: () => UpdateOutcome): void {
    if (this.gate || this.early) {
      act();
      return;
    }
    log.warn(`${name} signal ignored: the run is not waiting at its approval gate`, { now: this.doingNow() });
  }

  private refuseUnlessAtGate(update: 'approve' | 'abort'): void {
    if (this.gate) return;
    const { workflowId } = workflowInfo();
    const hint =
      update === 'abort'
        ? `to stop the deploy now, cancel it (runbook cancel ${workflowId}): its undos run first`
        : 'approve it when it waits at its approval gate (runbook status shows it)';
    throw failure(
      'Refused',
      `${workflowId} is not waiting at an approval gate (${this.doingNow()}); nothing to ${update}. ${hint}`,
    );
  }

  private doingNow(): string {
    const step = this.progress.current();
    if (this.progress.state === 'compensating') return `it is undoing a failed deploy${step ? `: ${step.name}` : ''}`;
    return step ? `now: ${step.name}, ${step.status}` : `it is ${this.progress.state}`;
  }
}
