import {
  ScheduleNotFoundError,
  WorkflowFailedError,
  type Client,
  type ScheduleDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { msNumberToTs, tsToMs } from '@temporalio/common/lib/time';
import { CronExpressionParser } from 'cron-parser';
import { temporal } from '@temporalio/proto';
import { durationMs } from '../common/duration';
import { judgeSlot, type SlotFacts, type SlotOutcome, type SlotRun } from '../common/schedule-slots';
import type { Manifest, Schedule } from '../manifest/types';
import { scheduleId } from '../common/names';
import { lastPolls } from './task-queues';

/*
 * The facts behind each slot of a schedule, read from Temporal: the times its spec matched (the server's own
 * reckoning, time zone included), the run each one started (workflow id `<action id>-<slot>`, as Temporal
 * names scheduled runs), what a running run waits for, and what ran over a slot that has no run. Used by the
 * watcher's activity (with what the watcher saw at each slot) and by `runbook schedule status`.
 */

/** What the watcher saw when a slot came due: whether the schedule was paused then, and the catch-up counter. */
export interface SlotObservation {
  paused: boolean;
  note?: string;
  missedCatchupWindow: number;
}

export interface ScheduleReview {
  app: string;
  name: string;
  scheduleId: string;
  /** False when the manifest lists it but `runbook schedule apply` has not created it. */
  exists: boolean;
  paused: boolean;
  note?: string;
  timezone: string;
  deadline: string;
  nextRun?: string;
  /** The server's counters, which the watcher compares from one look to the next. */
  missedCatchupWindow: number;
  skippedOverlap: number;
  /** Oldest first. */
  outcomes: SlotOutcome[];
}

export interface ReviewOptions {
  /** Slots after this time (exclusive)… */
  after: Date;
  /** …up to this one (inclusive). */
  until: Date;
  now: Date;
  /** What the watcher saw at each slot (ISO slot → observation). */
  observations?: Record<string, SlotObservation>;
}

export async function reviewSchedule(
  client: Client,
  manifest: Manifest,
  schedule: Schedule,
  options: ReviewOptions,
): Promise<ScheduleReview> {
  const id = scheduleId(manifest.app, schedule.name);
  const base = {
    app: manifest.app,
    name: schedule.name,
    scheduleId: id,
    timezone: schedule.timezone,
    deadline: schedule.deadline,
  };
  let description: ScheduleDescription;
  try {
    description = await client.schedule.getHandle(id).describe();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
    return { ...base, exists: false, paused: false, missedCatchupWindow: 0, skippedOverlap: 0, outcomes: [] };
  }
  // Slots before the schedule existed were never expected, unless a backfill ran them.
  const created = description.info.createdAt;
  const after = options.after;
  const slots = after < options.until ? await matchingTimes(client, id, after, options.until) : [];
  const action = description.action as { type: string; workflowId?: string };
  const prefix = action.workflowId ?? id;
  const runs = await latestRuns(
    client,
    slots.map((slot) => slotWorkflowId(prefix, slot)),
  );
  const deadlineMs = durationMs(schedule.deadline);
  const now = options.now.toISOString();
  const outcomes: SlotOutcome[] = [];
  for (const slot of slots) {
    const iso = slot.toISOString();
    const deadline = new Date(slot.getTime() + deadlineMs).toISOString();
    const seen = options.observations?.[iso];
    const info = runs.get(slotWorkflowId(prefix, slot));
    if (!info && slot < created) continue;
    const run = info ? await runFacts(client, info, now >= deadline) : undefined;
    const facts: SlotFacts = {
      slot: iso,
      deadline,
      run,
      paused: seen ? seen.paused : description.state.paused,
      pauseNote: seen ? seen.note : description.state.note || undefined,
      overlapping: run || now < deadline ? undefined : await overlappingRun(client, id, slot),
      overlapPolicy: description.policies.overlap ?? 'SKIP',
      missedCatchup: seen
        ? description.info.numActionsMissedCatchupWindow > seen.missedCatchupWindow
        : description.info.numActionsMissedCatchupWindow > 0 &&
          options.now.getTime() - slot.getTime() > durationMs(schedule.catchupWindow),
      catchupWindow: schedule.catchupWindow,
    };
    outcomes.push(judgeSlot(facts, now));
  }
  return {
    ...base,
    exists: true,
    paused: description.state.paused,
    note: description.state.note || undefined,
    nextRun: description.info.nextActionTimes[0]?.toISOString(),
    missedCatchupWindow: description.info.numActionsMissedCatchupWindow,
    skippedOverlap: description.info.numActionsSkippedOverlap,
    outcomes,
  };
}

/** Temporal names a scheduled run `<action's workflow id>-<slot, RFC 3339 in UTC to the second>`. */
export function slotWorkflowId(prefix: string, slot: Date): string {
  return `${prefix}-${slot.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

/** The times in (after, until] the schedule's spec matches, as the server computes them. */
async function matchingTimes(client: Client, id: string, after: Date, until: Date): Promise<Date[]> {
  const response = await client.workflowService.listScheduleMatchingTimes({
    namespace: client.options.namespace,
    scheduleId: id,
    // The server's start is exclusive; ask from a second earlier and keep (after, until].
    startTime: msNumberToTs(after.getTime() - 1_000),
    endTime: msNumberToTs(until.getTime()),
  });
  return (response.startTime ?? []).map(fromTimestamp).filter((d) => d > after && d <= until);
}

/** The newest run of each workflow id (a backfill of a failed slot runs it again under the same id). */
async function latestRuns(client: Client, workflowIds: string[]): Promise<Map<string, WorkflowExecutionInfo>> {
  const latest = new Map<string, WorkflowExecutionInfo>();
  for (let i = 0; i < workflowIds.length; i += 50) {
    const chunk = workflowIds.slice(i, i + 50);
    const query = `WorkflowId IN (${chunk.map(quote).join(', ')})`;
    for await (const info of client.workflow.list({ query })) {
      const known = latest.get(info.workflowId);
      if (!known || info.startTime > known.startTime) latest.set(info.workflowId, info);
    }
  }
  return latest;
}

async function runFacts(client: Client, info: WorkflowExecutionInfo, judging: boolean): Promise<SlotRun> {
  const run: SlotRun = {
    workflowId: info.workflowId,
    runId: info.runId,
    status: info.status.name,
    startTime: info.startTime.toISOString(),
    ...(info.closeTime ? { closeTime: info.closeTime.toISOString() } : {}),
  };
  if (run.status === 'FAILED' || run.status === 'TERMINATED' || run.status === 'TIMED_OUT' || run.status === 'CANCELED')
    return { ...run, error: await failureOf(client, info) };
  if (run.status === 'RUNNING' && judging) return { ...run, ...(await whatItWaitsFor(client, info)) };
  return run;
}

async function failureOf(client: Client, info: WorkflowExecutionInfo): Promise<string> {
  try {
    await client.workflow.getHandle(info.workflowId, info.runId).result();
    return 'no error recorded';
  } catch (error) {
    if (error instanceof WorkflowFailedError) return error.cause?.message ?? error.message;
    return (error as Error).message;
  }
}

/**
 * Whether a running run waits for a worker (a workflow or activity task scheduled long ago and not started)
 * or retries a step, from the pending tasks Temporal describes.
 */
async function whatItWaitsFor(
  client: Client,
  info: WorkflowExecutionInfo,
): Promise<Pick<SlotRun, 'waitingFor' | 'retrying'>> {
  const { raw } = await client.workflow.getHandle(info.workflowId, info.runId).describe();
  const now = Date.now();
  const task = raw.pendingWorkflowTask;
  const scheduledMs = task?.scheduledTime ? fromTimestamp(task.scheduledTime).getTime() : undefined;
  if (
    task &&
    task.state === temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED &&
    scheduledMs !== undefined
  )
    return {
      waitingFor: {
        taskQueue: info.taskQueue,
        since: new Date(scheduledMs).toISOString(),
        what: `run its workflow code${await lastPoll(client, info.taskQueue, 'workflow')}`,
      },
    };
  for (const activity of raw.pendingActivities ?? []) {
    const name = activity.activityType?.name ?? 'an activity';
    const queue = activity.activityOptions?.taskQueue?.name ?? 'its task queue';
    const waitingSince =
      activity.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
        ? fromTimestamp(activity.nextAttemptScheduleTime ?? activity.scheduledTime ?? undefined)
        : undefined;
    // Scheduled in the past and not started: waiting for a worker (a future time is a retry's back-off).
    if (waitingSince && waitingSince.getTime() <= now)
      return {
        waitingFor: {
          taskQueue: queue,
          since: waitingSince.toISOString(),
          what: `run ${name}${await lastPoll(client, queue, 'activity')}`,
        },
      };
    if ((activity.attempt ?? 1) > 1 && activity.lastFailure?.message)
      return { retrying: { what: name, attempt: activity.attempt ?? 1, error: activity.lastFailure.message } };
  }
  return {};
}

/** " (no worker has polled it)" or " (last polled at …)": what the server knows of the queue's workers. */
async function lastPoll(client: Client, taskQueue: string, kind: 'workflow' | 'activity'): Promise<string> {
  try {
    const times = (await lastPolls(client, taskQueue, kind)).map((t) => t.getTime());
    return times.length === 0
      ? ' (no worker has polled it recently)'
      : ` (last polled at ${new Date(Math.max(...times)).toISOString()})`;
  } catch {
    return '';
  }
}

/** A run of the schedule that started before the slot and was still running at it. */
async function overlappingRun(
  client: Client,
  id: string,
  slot: Date,
): Promise<{ workflowId: string; startTime: string } | undefined> {
  const at = slot.toISOString();
  const query = `TemporalScheduledById = ${quote(id)} AND StartTime < ${quote(at)}`;
  for await (const info of client.workflow.list({ query })) {
    if (!info.closeTime || info.closeTime > slot)
      return { workflowId: info.workflowId, startTime: info.startTime.toISOString() };
    if (info.startTime.getTime() < slot.getTime() - 7 * 86_400_000) break;
  }
  return undefined;
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "\\'")}'`;
}

function fromTimestamp(ts: Parameters<typeof tsToMs>[0]): Date {
  return new Date(tsToMs(ts));
}

/** The last `count` slots of a schedule up to `now`, judged (oldest first), with its state and next run. */
export async function recentOutcomes(
  client: Client,
  manifest: Manifest,
  schedule: Schedule,
  count: number,
  now: Date = new Date(),
): Promise<ScheduleReview> {
  const times = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: now });
  let earliest = now;
  for (let i = 0; i < count; i++) earliest = times.prev().toDate();
  const review = await reviewSchedule(client, manifest, schedule, {
    after: new Date(earliest.getTime() - 1),
    until: now,
    now,
  });
  return { ...review, outcomes: review.outcomes.slice(-count) };
}
