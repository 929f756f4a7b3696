import { condition, defineSignal, defineUpdate, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { SIGNALS, UPDATES, type UpdateOutcome } from '../common/contracts';
import { failure } from '../common/failures';
import { isoNow, workflowNow } from './clock';
import type { ProgressTracker } from './progress';

export const approveUpdate = defineUpdate<UpdateOutcome, []>(UPDATES.approve);
export const abortUpdate = defineUpdate<UpdateOutcome, [reason?: string]>(UPDATES.abort);
export const approveSignal = defineSignal<[]>(SIGNALS.approve);
export const abortSignal = defineSignal<[reason?: string]>(SIGNALS.abort);

/**
 * Runs started before this patch took an `approve` signal sent before the gate as a pre-approval; they keep
 * doing so when replayed. Runs started after it accept approve/abort only while they wait at the gate.
 */
const APPROVAL_ONLY_AT_THE_GATE = 'approval-only-at-the-gate';

/**
 * Where a running deploy listens to its operator: the approval gate. Every Update is checked by a validator
 * against where the run is now, so a decision the run is not waiting for is refused (and leaves no trace in
 * history) instead of being kept for later or silently dropped.
 */
export class OperatorControls {
  private gate?: { step: string; approved: boolean; abortReason?: string };
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
