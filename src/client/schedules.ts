import { createHash } from 'node:crypto';
import {
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleOverlapPolicy,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { WORKFLOW_TYPES, type BackupInput, type DrillInput, type JobInput } from '../common/contracts';
import { durationMs } from '../common/duration';
import { backupWorkflowId, drillWorkflowId, jobWorkflowId, scheduleId, watchWorkflowId } from '../common/names';
import { ACTION, APP } from '../common/search-attributes';
import type { Manifest, Schedule } from '../manifest/types';

/*
 * A manifest's `schedules` as Temporal Schedules: one per entry, created or updated by `applySchedules`.
 * What was applied is remembered as a hash in the schedule's action memo (the part of a schedule an
 * update can change), so applying an unchanged manifest changes nothing, and a pause made by a person
 * survives re-applying a manifest that did not change its own `paused`.
 */

const OVERLAP: Record<Schedule['overlap'], ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  buffer_one: 'BUFFER_ONE',
  buffer_all: 'BUFFER_ALL',
  cancel_other: 'CANCEL_OTHER',
  terminate_other: 'TERMINATE_OTHER',
  allow_all: 'ALLOW_ALL',
};

/** Marks the schedules this module manages (schedule memo `managedBy`). */
const MANAGED_BY = 'runbook';

/** The schedule id from `runbook-<app>-<name>` or `<app>/<name>`. */
export function parseScheduleRef(ref: string): string {
  const slash = ref.indexOf('/');
  return slash > 0 ? scheduleId(ref.slice(0, slash), ref.slice(slash + 1)) : ref;
}

export type ScheduleAction =
  { type: 'backup'; input: BackupInput } | { type: 'drill'; input: DrillInput } | { type: 'job'; input: JobInput };

export function scheduleAction(manifest: Manifest, schedule: Schedule): ScheduleAction {
  if (schedule.run === 'backup' || schedule.run === 'drill')
    return {
      type: schedule.run,
      input: { app: manifest.app, ...(schedule.target ? { target: schedule.target } : {}) },
    };
  return {
    type: 'job',
    input: {
      app: manifest.app,
      job: schedule.job as string,
      ...(schedule.mode ? { mode: schedule.mode } : {}),
      ...(schedule.params ? { params: schedule.params } : {}),
      timezone: schedule.timezone,
    },
  };
}

/** Everything a schedule's applied form depends on: its hash decides whether an update is needed. */
export function scheduleSpecHash(manifest: Manifest, schedule: Schedule, taskQueue: string): string {
  const facts = {
    cron: schedule.cron,
    timezone: schedule.timezone,
    overlap: schedule.overlap,
    catchupWindow: schedule.catchupWindow,
    paused: schedule.paused,
    note: schedule.note ?? null,
    action: scheduleAction(manifest, schedule),
    taskQueue,
  };
  return createHash('sha256').update(canonicalJson(facts)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** The memo each scheduled run carries: which schedule started it, and what was applied. */
interface AppliedMemo {
  schedule: string;
  specHash: string;
  manifestPaused: boolean;
  cron: string;
  timezone: string;
  /** What it runs, for people: `backup db`, `job daily-processor (auto)`. */
  runs: string;
}

/** The Temporal Schedule a manifest entry describes (pure, for tests and dry runs). */
export function desiredSchedule(manifest: Manifest, schedule: Schedule, taskQueue: string): ScheduleOptions {
  const id = scheduleId(manifest.app, schedule.name);
  const action = scheduleAction(manifest, schedule);
  const applied: AppliedMemo = {
    schedule: id,
    specHash: scheduleSpecHash(manifest, schedule, taskQueue),
    manifestPaused: schedule.paused,
    cron: schedule.cron,
    timezone: schedule.timezone,
    runs:
      action.type === 'job'
        ? `job ${action.input.job}${action.input.mode ? ` (${action.input.mode})` : ''}`
        : `${action.type} ${action.input.target ?? '(all targets)'}`,
  };
  const workflowId =
    action.type === 'job'
      ? jobWorkflowId(manifest.app, action.input.job)
      : action.type === 'backup'
        ? backupWorkflowId(manifest.app, action.input.target)
        : drillWorkflowId(manifest.app, action.input.target);
  return {
    scheduleId: id,
    spec: { cronExpressions: [schedule.cron], timezone: schedule.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPES[action.type],
      // Temporal appends the scheduled time to this id, one run per time.
      workflowId,
      args: [action.input],
      taskQueue,
      memo: { runbook: applied },
      typedSearchAttributes: [{ key: APP, value: manifest.app }],
    },
    policies: {
      overlap: OVERLAP[schedule.overlap],
      // Explicit: left unset, the server catches up only on runs missed by less than 10 seconds.
      catchupWindow: durationMs(schedule.catchupWindow),
    },
    state: { paused: schedule.paused, note: schedule.note ?? (schedule.paused ? 'paused in the manifest' : undefined) },
    memo: { managedBy: MANAGED_BY, app: manifest.app, name: schedule.name },
    typedSearchAttributes: [{ key: APP, value: manifest.app }],
  };
}

export interface ScheduleChange {
  scheduleId: string;
  name: string;
  app: string;
  change: 'created' | 'updated' | 'unchanged' | 'deleted' | 'kept (not in the manifest; apply with --prune to delete)';
}

export interface ApplyOptions {
  /** The task queue scheduled workflows start on (the orchestration queue). */
  taskQueue: string;
  /** Delete this app's Runbook schedules that the manifest no longer lists. */
  prune?: boolean;
}

/** Creates or updates one Temporal Schedule per manifest schedule; deletes removed ones only with `prune`. */
export async function applySchedules(
  client: Client,
  manifest: Manifest,
  options: ApplyOptions,
): Promise<ScheduleChange[]> {
  const changes: ScheduleChange[] = [];
  for (const schedule of manifest.schedules) {
    const desired = desiredSchedule(manifest, schedule, options.taskQueue);
    const handle = client.schedule.getHandle(desired.scheduleId);
    const current = await handle.describe().catch((error: unknown) => {
      if (error instanceof ScheduleNotFoundError) return undefined;
      throw error;
    });
    const base = { scheduleId: desired.scheduleId, name: schedule.name, app: manifest.app };
    if (!current) {
      await client.schedule.create(desired);
      changes.push({ ...base, change: 'created' });
      continue;
    }
    const applied = appliedMemo(current);
    const wanted = (desired.action.memo as { runbook: AppliedMemo }).runbook;
    if (applied?.specHash === wanted.specHash) {
      changes.push({ ...base, change: 'unchanged' });
      continue;
    }
    // A pause or unpause made by a person stands unless the manifest itself changed `paused`.
    const keepState = applied !== undefined && applied.manifestPaused === schedule.paused;
    await handle.update((previous) => toUpdate(desired, keepState ? previous.state : desired.state));
    changes.push({ ...base, change: 'updated' });
  }

  const listed = new Set(manifest.schedules.map((s) => scheduleId(manifest.app, s.name)));
  for (const summary of await listSchedules(client, { app: manifest.app })) {
    if (listed.has(summary.scheduleId)) continue;
    const base = { scheduleId: summary.scheduleId, name: summary.name, app: manifest.app };
    if (options.prune) {
      await client.schedule.getHandle(summary.scheduleId).delete();
      changes.push({ ...base, change: 'deleted' });
    } else changes.push({ ...base, change: 'kept (not in the manifest; apply with --prune to delete)' });
  }
  return changes;
}

function appliedMemo(description: ScheduleDescription): AppliedMemo | undefined {
  const memo = description.action.memo as { runbook?: AppliedMemo } | undefined;
  return memo?.runbook;
}

function toUpdate(
  desired: ScheduleOptions,
  state: ScheduleDescription['state'] | ScheduleOptions['state'],
): ScheduleUpdateOptions {
  return {
    spec: desired.spec,
    action: desired.action,
    policies: desired.policies,
    typedSearchAttributes: desired.typedSearchAttributes,
    state: { paused: state?.paused ?? false, note: state?.note },
  };
}

export interface ScheduleListing {
  scheduleId: string;
  app: string;
  name: string;
  runs?: string;
  cron?: string;
  timezone?: string;
  paused: boolean;
  note?: string;
  nextRuns: string[];
  recentRuns: Array<{ scheduledAt: string; workflowId: string }>;
}

/**
 * Runbook's schedules (of one app, or all). Which schedules exist comes from the server's list, which can
 * lag a few seconds behind a change; each one's details come from describing it.
 */
export async function listSchedules(client: Client, filter: { app?: string } = {}): Promise<ScheduleListing[]> {
  const ids: Array<{ id: string; app: string; name: string }> = [];
  for await (const summary of client.schedule.list()) {
    const memo = (summary.memo ?? {}) as { managedBy?: string; app?: string; name?: string };
    if (memo.managedBy !== MANAGED_BY || (filter.app && memo.app !== filter.app)) continue;
    ids.push({ id: summary.scheduleId, app: memo.app ?? '', name: memo.name ?? summary.scheduleId });
  }
  const out: ScheduleListing[] = [];
  for (const { id, app, name } of ids) {
    const description = await describeSchedule(client, id).catch((error: unknown) => {
      if (error instanceof ScheduleNotFoundError) return undefined; // deleted since the list was made
      throw error;
    });
    if (description) out.push(toListing(description, app, name));
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

function toListing(description: ScheduleDescription, app: string, name: string): ScheduleListing {
  const applied = appliedMemo(description);
  return {
    scheduleId: description.scheduleId,
    app,
    name,
    runs: applied?.runs,
    cron: applied?.cron,
    timezone: description.spec.timezone ?? applied?.timezone,
    paused: description.state.paused,
    note: description.state.note || undefined,
    nextRuns: description.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: description.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
    })),
  };
}

export async function describeSchedule(client: Client, id: string): Promise<ScheduleDescription> {
  return client.schedule.getHandle(id).describe();
}

export async function pauseSchedule(client: Client, id: string, note: string): Promise<void> {
  await client.schedule.getHandle(id).pause(note);
}

export async function unpauseSchedule(client: Client, id: string, note: string): Promise<void> {
  await client.schedule.getHandle(id).unpause(note);
}

/** Starts one run now, whatever the overlap policy says (its logical date is now). */
export async function triggerSchedule(client: Client, id: string): Promise<void> {
  await client.schedule.getHandle(id).trigger();
}

/**
 * Runs every time the schedule would have run in [from, to], one after the other, each with its own
 * scheduled time as its logical date.
 */
export async function backfillSchedule(client: Client, id: string, from: Date, to: Date): Promise<void> {
  if (!(from.getTime() <= to.getTime()))
    throw new Error(`backfill: from (${from.toISOString()}) is after to (${to.toISOString()})`);
  await client.schedule.getHandle(id).backfill([{ start: from, end: to, overlap: 'BUFFER_ALL' }]);
}

export async function deleteSchedule(client: Client, id: string): Promise<void> {
  await client.schedule.getHandle(id).delete();
}

export interface WatcherStatus {
  workflowId: string;
  /** Whether this call started it (false: it was already watching). */
  started: boolean;
}

/**
 * Starts the app's watcher (workflow `watch`, id `watch-<app>`) unless it already runs: it alerts on slots
 * without a successful run and on stale backups. Apps with neither schedules nor backups need none.
 */
export async function ensureWatcher(
  client: Client,
  manifest: Manifest,
  taskQueue: string,
): Promise<WatcherStatus | undefined> {
  if (manifest.schedules.length === 0 && (manifest.backups?.targets.length ?? 0) === 0) return undefined;
  const workflowId = watchWorkflowId(manifest.app);
  const running = await client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    });
  if (running) return { workflowId, started: false };
  await client.workflow.start(WORKFLOW_TYPES.watch, {
    taskQueue,
    workflowId,
    args: [{ app: manifest.app }],
    // Two applies at once must not start two watchers: the second finds the first.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: APP, value: manifest.app },
      { key: ACTION, value: 'watch' },
    ],
  });
  return { workflowId, started: true };
}
