/**
 * What happened to each time a schedule was due (a "slot"), judged from facts the watcher and
 * `runbook schedule status` read from Temporal. Pure: the watcher workflow, its activity and the CLI share it.
 *
 * The expectation: by the schedule's deadline after each slot, a run of it has succeeded. A slot without
 * that is `failed` (its run failed) or `missed`, with the reason on-call needs first.
 */

import { wallClockInZone } from './dates';

/** A task that has waited this long for a worker means no worker polls its queue. */
export const NO_WORKER_AFTER_MS = 20_000;

export type SlotReason =
  /** The schedule was paused at the slot (or is paused now). */
  | 'paused'
  /** Another run of the schedule was still running, and the overlap policy skipped (or is holding) this one. */
  | 'overlap'
  /** The run exists but waits for a worker: nothing polls its task queue (or its host's). */
  | 'no-worker'
  /** The run failed, timed out, was terminated or cancelled. */
  | 'failed'
  /** The run is still running past the deadline. */
  | 'running'
  /** The slot passed while the server could not start it, and it fell outside the catch-up window. */
  | 'catchup-window'
  /** No run was started and nothing above explains it. */
  | 'not-started';

export type SlotStatus =
  /** A run succeeded. */
  | 'ok'
  /** Its run failed. */
  | 'failed'
  /** No successful run by the deadline, for another reason. */
  | 'missed'
  /** A run is going, and the deadline has not passed. */
  | 'running'
  /** No run yet, and the deadline has not passed. */
  | 'pending';

export interface SlotRun {
  workflowId: string;
  runId: string;
  status: 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED' | 'TERMINATED' | 'TIMED_OUT' | 'CONTINUED_AS_NEW' | string;
  startTime: string;
  closeTime?: string;
  /** The failure's message, for a run that did not succeed. */
  error?: string;
  /** A running run that waits for a worker: which queue, since when, for what. */
  waitingFor?: { taskQueue: string; since: string; what: string };
  /** A running run's step being retried, with its last failure. */
  retrying?: { what: string; attempt: number; error: string };
}

export interface SlotFacts {
  /** The time the schedule was due (UTC ISO). */
  slot: string;
  /** slot + the schedule's deadline. */
  deadline: string;
  run?: SlotRun;
  /** Whether the schedule was paused at the slot, as the watcher saw it then (else: now). */
  paused: boolean;
  pauseNote?: string;
  /** A run of the same schedule that was running at the slot. */
  overlapping?: { workflowId: string; startTime: string };
  overlapPolicy: string;
  /** The server counted missed catch-up windows since the slot came due. */
  missedCatchup: boolean;
  catchupWindow: string;
}

export interface SlotOutcome {
  slot: string;
  deadline: string;
  status: SlotStatus;
  reason?: SlotReason;
  /** One sentence on-call can act on. */
  detail: string;
  workflowId?: string;
  runId?: string;
  /** The queue no worker polls (reason no-worker). */
  taskQueue?: string;
  /** The run that was still going (reason overlap). */
  overlappingWorkflowId?: string;
}

const POLICY_WORDS: Record<string, string> = {
  SKIP: 'skip',
  BUFFER_ONE: 'buffer_one',
  BUFFER_ALL: 'buffer_all',
  CANCEL_OTHER: 'cancel_other',
  TERMINATE_OTHER: 'terminate_other',
  ALLOW_ALL: 'allow_all',
};

/** Judges one slot at `now`: ok, failed, missed (with the reason), or not decided yet. */
export function judgeSlot(facts: SlotFacts, now: string): SlotOutcome {
  const base = { slot: facts.slot, deadline: facts.deadline };
  const due = now >= facts.deadline;
  const { run } = facts;
  if (run) {
    const ids = { workflowId: run.workflowId, runId: run.runId };
    if (run.status === 'COMPLETED') return { ...base, ...ids, status: 'ok', detail: `succeeded at ${run.closeTime}` };
    if (run.status !== 'RUNNING' && run.status !== 'CONTINUED_AS_NEW')
      return {
        ...base,
        ...ids,
        status: 'failed',
        reason: 'failed',
        detail: `the run ${run.status === 'FAILED' ? 'failed' : `ended ${run.status.toLowerCase().replace('_', ' ')}`}: ${run.error ?? 'no error message'}`,
      };
    if (!due) return { ...base, ...ids, status: 'running', detail: `running since ${run.startTime}` };
    const waited = run.waitingFor ? Date.parse(now) - Date.parse(run.waitingFor.since) : 0;
    // Too short a wait to tell a missing worker from a busy one: decide on a later look.
    if (run.waitingFor && waited < NO_WORKER_AFTER_MS)
      return { ...base, ...ids, status: 'running', detail: `waiting for a worker since ${run.waitingFor.since}` };
    if (run.waitingFor)
      return {
        ...base,
        ...ids,
        status: 'missed',
        reason: 'no-worker',
        taskQueue: run.waitingFor.taskQueue,
        detail: `no worker polls task queue ${run.waitingFor.taskQueue}: the run has waited since ${run.waitingFor.since} for one to ${run.waitingFor.what}`,
      };
    return {
      ...base,
      ...ids,
      status: 'missed',
      reason: 'running',
      detail:
        `still running past the deadline ${facts.deadline} (started ${run.startTime})` +
        (run.retrying
          ? `; ${run.retrying.what} is on attempt ${run.retrying.attempt} after: ${run.retrying.error}`
          : ''),
    };
  }
  if (!due) return { ...base, status: 'pending', detail: `no run yet; due by ${facts.deadline}` };
  const missed = (reason: SlotReason, detail: string): SlotOutcome => ({ ...base, status: 'missed', reason, detail });
  if (facts.paused)
    return missed('paused', `the schedule was paused${facts.pauseNote ? ` (note: ${facts.pauseNote})` : ''}`);
  if (facts.overlapping) {
    const policy = POLICY_WORDS[facts.overlapPolicy] ?? facts.overlapPolicy;
    return {
      ...missed(
        'overlap',
        `skipped by the overlap policy (${policy}): the run ${facts.overlapping.workflowId}, started ${facts.overlapping.startTime}, was still running`,
      ),
      overlappingWorkflowId: facts.overlapping.workflowId,
    };
  }
  if (facts.missedCatchup)
    return missed(
      'catchup-window',
      `outside the catch-up window (${facts.catchupWindow}): the Temporal server could not start it in time (it was down or overloaded) and skipped it when it came back`,
    );
  return missed(
    'not-started',
    'no run was started for this slot and the schedule was not paused; the Temporal server may have been down (check its logs)',
  );
}

/** What to do about a slot without a successful run: the steps for its reason, ending with the backfill line. */
export function fixFor(outcome: SlotOutcome, app: string, schedule: string): string[] {
  const backfill = backfillLine(app, schedule, outcome.slot);
  switch (outcome.reason) {
    case 'paused':
      return [`unpause it: runbook schedule unpause ${app}/${schedule}`, `then run the missed slot: ${backfill}`];
    case 'no-worker':
      return [
        `start a worker that polls ${outcome.taskQueue ?? 'its task queue'} (runbook worker); the waiting run then goes on by itself`,
        `or cancel it (temporal workflow cancel --workflow-id ${outcome.workflowId}) and run the slot again: ${backfill}`,
      ];
    case 'running':
      return [
        `look at it: runbook status ${outcome.workflowId}`,
        `if it is stuck, cancel it (temporal workflow cancel --workflow-id ${outcome.workflowId}) and run the slot again: ${backfill}`,
      ];
    case 'failed':
      return ['fix what the error says', `then run the slot again: ${backfill}`];
    case 'overlap':
      return ['when the run that was still going has finished, run the missed slot:', backfill];
    default:
      return [`run the missed slot: ${backfill}`];
  }
}

/** The exact CLI line that runs one slot again (the schedule's own workflow id for that slot). */
export function backfillLine(app: string, schedule: string, slot: string): string {
  return `runbook schedule backfill ${app}/${schedule} --at ${slot.replace(/\.000Z$/, 'Z')}`;
}

const REASON_WORDS: Record<SlotReason, string> = {
  paused: 'paused',
  overlap: 'skipped by the overlap policy',
  'no-worker': 'no worker',
  failed: 'run failed',
  running: 'still running past the deadline',
  'catchup-window': 'outside the catch-up window',
  'not-started': 'not started',
};

/** A slot's outcome in a few words: `ok`, `failed: <error>`, `missed: paused`. */
export function outcomeWords(outcome: SlotOutcome): string {
  if (outcome.status === 'missed' && outcome.reason) return `missed (${REASON_WORDS[outcome.reason]})`;
  if (outcome.status === 'failed') return 'failed';
  return outcome.status;
}

/** The slot in the schedule's own time zone, as people there read it: `2026-11-24 02:00 (America/Sao_Paulo)`. */
export function localSlot(slot: string, timeZone: string): string {
  const { year, month, day, hour, minute } = wallClockInZone(new Date(slot), timeZone);
  return `${year}-${month}-${day} ${hour}:${minute} (${timeZone})`;
}
