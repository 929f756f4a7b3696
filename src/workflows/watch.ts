import {
  continueAsNew,
  defineQuery,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { failure } from '../common/failures';
import type { TargetFreshness } from '../activities/backup-health';
import type { ScheduleReview, SlotObservation } from '../client/schedule-outcomes';
import { isName, watchWorkflowId } from '../common/names';
import { parseDuration } from '../common/duration';
import { parseInput, watchInputSchema } from '../common/workflow-inputs';
import type { RunReport } from '../common/progress';
import { fixFor, localSlot, type SlotOutcome } from '../common/schedule-slots';
import type { Manifest } from '../manifest/types';
import { ACTIVITY_HEARTBEAT_TIMEOUT } from '../common/activity-options';
import { hostQueue } from './activities';
import { isoNow } from './clock';
import { notifyQuietly } from './notify';
import { failureMessage } from './progress';

export interface WatchInput {
  app: string;
  /** How often to look (default 1m). */
  every?: string;
  /** Judge slots from this time on (default: when the watcher first starts). */
  since?: string;
  /** Looks before the watcher continues as new, to keep its history short (default 120). */
  looksPerRun?: number;
  /** What the previous run knew: carried over continue-as-new. */
  state?: WatchState;
}

export interface WatchState {
  since: string;
  /** Per schedule: every slot up to this time is settled (succeeded, or alerted). */
  cursors: Record<string, string>;
  /** Per schedule and slot: whether it was paused when the slot came due. */
  observations: Record<string, Record<string, SlotObservation>>;
  /** Keys of the alerts sent, newest last (a bounded list). */
  alerted: string[];
  /** Per schedule paused at a missed slot: that slot, which names the pause (one alert per pause). */
  pauses: Record<string, string>;
  /** The latest alerts, newest last, for `runbook schedule status`. */
  recent: Array<{ key: string; title: string; at: string }>;
  lastCheck?: string;
  lastError?: string;
}

export const watchStateQuery = defineQuery<WatchState>('watchState');

const KEEP_ALERTED = 1_000;
const KEEP_RECENT = 20;

const { loadManifest, assessSchedules, recordMissedSchedule } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 3 },
});

/** A host without a worker must not hold the watcher: the freshness check gives up after two minutes. */
function hostChecks(manifest: Manifest) {
  return proxyActivities<Activities>({
    ...hostQueue(manifest, manifest.hosts[0]),
    scheduleToCloseTimeout: '2m',
    startToCloseTimeout: '1m',
    heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
    retry: { maximumAttempts: 2 },
  });
}

/**
 * Watches an app's schedules and backups, one look every `every`: each slot of each schedule must have a
 * succeeded run by its deadline, or the manifest's channels get one alert (`schedule.missed`) naming the
 * schedule, the slot, the reason and the `runbook schedule backfill` line that runs it again. A target
 * whose newest verified backup is too old gets one `backup.stale` alert. Runs forever (continuing as new);
 * a look that fails is logged and the next look tries again.
 */
export async function watch(raw: WatchInput): Promise<never> {
  const input = { ...parseInput(watchInputSchema, raw, 'watch'), state: raw?.state } as WatchInput;
  const { every, looksPerRun } = checkInput(input);
  const state: WatchState = input.state ?? {
    since: input.since ?? isoNow(),
    cursors: {},
    observations: {},
    alerted: [],
    pauses: {},
    recent: [],
  };
  setHandler(watchStateQuery, () => state);

  for (let look = 1; ; look++) {
    await lookOnce(input.app, state);
    if (look >= looksPerRun || workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof watch>({ ...input, since: state.since, state });
    await sleep(every);
  }
}

function checkInput(input: WatchInput): { every: number; looksPerRun: number } {
  const bad = (field: string, message: string) => failure('BadInput', `watch input: ${field}: ${message}`);
  if (!input || typeof input.app !== 'string' || !isName(input.app))
    throw bad('app', 'expected an app name such as orquetask ({"app": "orquetask"})');
  if (workflowInfo().workflowId !== watchWorkflowId(input.app))
    throw bad(
      'app',
      `start the watcher of ${input.app} with workflow id '${watchWorkflowId(input.app)}', so that only one watches it`,
    );
  const every = parseDuration(input.every ?? '1m');
  if (every === undefined || every < 1_000) throw bad('every', `'${input.every}' is not a duration of 1s or more`);
  if (input.since !== undefined && Number.isNaN(Date.parse(input.since)))
    throw bad('since', `'${input.since}' is not an ISO time such as 2026-11-24T05:00:00Z`);
  const looksPerRun = input.looksPerRun ?? 120;
  if (!Number.isInteger(looksPerRun) || looksPerRun < 1)
    throw bad('looksPerRun', `expected a whole number of 1 or more, got ${input.looksPerRun}`);
  return { every, looksPerRun };
}

async function lookOnce(app: string, state: WatchState): Promise<void> {
  let manifest: Manifest;
  try {
    manifest = await loadManifest(app);
  } catch (error) {
    state.lastError = `could not load the manifest: ${failureMessage(error)}`;
    log.warn('watcher could not load the manifest', { app, error: state.lastError });
    return;
  }
  try {
    const result = await assessSchedules({
      manifest,
      cursors: state.cursors,
      since: state.since,
      observations: state.observations,
    });
    for (const review of result.schedules) await settle(manifest, review, result.checkedAt, state);
    state.lastCheck = result.checkedAt;
    state.lastError = undefined;
  } catch (error) {
    state.lastError = `could not read the schedules: ${failureMessage(error)}`;
    log.warn('watcher could not read the schedules', { app, error: state.lastError });
  }
  if ((manifest.backups?.targets.length ?? 0) > 0) await checkFreshness(manifest, state);
}

/** Alerts every slot that missed its deadline (once), notes what undecided slots saw, moves the cursor. */
async function settle(manifest: Manifest, review: ScheduleReview, checkedAt: string, state: WatchState): Promise<void> {
  if (!review.exists) return;
  if (!review.paused) delete state.pauses[review.scheduleId];
  const observed = (state.observations[review.name] ??= {});
  let settledThrough: string | undefined;
  let undecided = false;
  for (const outcome of review.outcomes) {
    // A run that failed early may still be run again (backfilled) before its deadline.
    const early = outcome.status === 'failed' && checkedAt < outcome.deadline;
    if (outcome.status === 'pending' || outcome.status === 'running' || early) {
      observed[outcome.slot] ??= {
        paused: review.paused,
        ...(review.note ? { note: review.note } : {}),
        missedCatchupWindow: review.missedCatchupWindow,
      };
      undecided = true;
      continue;
    }
    if (outcome.status !== 'ok') await alertMissed(manifest, review, outcome, state);
    delete observed[outcome.slot];
    if (!undecided) settledThrough = outcome.slot;
  }
  if (settledThrough) state.cursors[review.name] = settledThrough;
}

async function alertMissed(
  manifest: Manifest,
  review: ScheduleReview,
  outcome: SlotOutcome,
  state: WatchState,
): Promise<void> {
  // One alert per slot; a pause (or a run holding later slots back) is one alert however many slots it costs.
  if (outcome.reason === 'paused') state.pauses[review.scheduleId] ??= outcome.slot;
  const about =
    outcome.reason === 'paused'
      ? `paused/${state.pauses[review.scheduleId]}`
      : outcome.reason === 'overlap'
        ? `overlap/${outcome.overlappingWorkflowId}`
        : outcome.slot;
  const key = `${watchWorkflowId(manifest.app)}/missed/${review.scheduleId}/${about}`;
  if (state.alerted.includes(key)) return;
  const when = localSlot(outcome.slot, review.timezone);
  const fix = fixFor(outcome, manifest.app, review.name);
  const info = workflowInfo();
  const report: RunReport = {
    kind: 'schedule',
    app: manifest.app,
    outcome: 'failed',
    workflowId: outcome.workflowId ?? info.workflowId,
    runId: outcome.runId ?? info.runId,
    startedAt: outcome.slot,
    finishedAt: isoNow(),
    title: `${manifest.app}: schedule ${review.name} ${outcome.status === 'failed' ? 'FAILED' : 'MISSED'} its ${when} run`,
    summary: `${review.name} has no successful run for ${when}: ${outcome.detail}`,
    error: [outcome.detail, '', 'To fix it:', ...fix.map((line) => `  ${line}`)].join('\n'),
    steps: [],
    details: {
      schedule: review.name,
      scheduleId: review.scheduleId,
      slot: outcome.slot,
      deadline: outcome.deadline,
      status: outcome.status,
      reason: outcome.reason,
      fix: fix[fix.length - 1].replace(/^.*?(runbook schedule backfill)/, '$1'),
      ...(outcome.workflowId ? { workflowId: outcome.workflowId, runId: outcome.runId } : {}),
    },
  };
  await notifyQuietly(report, manifest, ['schedule.missed'], {
    key,
    ...(outcome.workflowId ? {} : { scheduleId: review.scheduleId }),
  });
  await recordMissedSchedule({ app: manifest.app, schedule: review.name, outcome }).catch((error) =>
    log.warn('missed slot not recorded for metrics', { error: failureMessage(error) }),
  );
  remember(state, key, report.title as string);
}

async function checkFreshness(manifest: Manifest, state: WatchState): Promise<void> {
  let targets: TargetFreshness[];
  try {
    targets = await hostChecks(manifest).checkBackupFreshness({ manifest, watchingSince: state.since });
  } catch (error) {
    log.warn("watcher could not read the backups' catalogue on the app's host", {
      app: manifest.app,
      error: failureMessage(error),
    });
    return;
  }
  for (const target of targets.filter((t) => t.stale)) {
    const key = `${watchWorkflowId(manifest.app)}/stale/${target.target}/${target.newest?.id ?? 'none'}`;
    if (state.alerted.includes(key)) continue;
    const info = workflowInfo();
    const report: RunReport = {
      kind: 'backup',
      app: manifest.app,
      outcome: 'failed',
      workflowId: info.workflowId,
      runId: info.runId,
      startedAt: target.newest?.createdAt ?? state.since,
      finishedAt: isoNow(),
      title: `${manifest.app}: backup ${target.target} STALE — nothing newer than ${target.maxAge}`,
      summary: target.detail,
      error: [
        target.detail,
        '',
        'To fix it:',
        `  see why the scheduled backups stopped: runbook schedule status ${manifest.app}`,
        `  take one now: runbook backup ${manifest.app} --target ${target.target}`,
      ].join('\n'),
      steps: [],
      details: { target: target.target, newest: target.newest, maxAge: target.maxAge },
    };
    await notifyQuietly(report, manifest, ['backup.stale'], { key });
    remember(state, key, report.title as string);
  }
}

function remember(state: WatchState, key: string, title: string): void {
  state.alerted.push(key);
  if (state.alerted.length > KEEP_ALERTED) state.alerted.splice(0, state.alerted.length - KEEP_ALERTED);
  state.recent.push({ key, title, at: isoNow() });
  if (state.recent.length > KEEP_RECENT) state.recent.splice(0, state.recent.length - KEEP_RECENT);
}
