import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  TimeoutFailure,
  type ActivityFunctionWithOptions,
  type ActivityOptions,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { Activities } from '../activities';
import { ACTIVITY_OPTIONS, ON_HOST, type OptionGroup } from '../common/activity-options';
import { durationMs } from '../common/duration';
import { failure, isFailureOf } from '../common/failures';
import { hostTaskQueue } from '../common/names';
import type { Outcome } from '../common/progress';
import type { Manifest } from '../manifest/types';

/** The manifest's default; also for manifests loaded (and kept in history) before the setting existed. */
const DEFAULT_UNREACHABLE_AFTER = '2m';

type Reach = Partial<Pick<Manifest, 'unreachableAfter'>>;

function unreachableAfter(manifest: Reach): string {
  return manifest.unreachableAfter ?? DEFAULT_UNREACHABLE_AFTER;
}

/**
 * Where a host's activities go and how long they wait there for a worker: a host nobody serves fails the
 * activity after `unreachableAfter` (the manifest's), so no run waits forever holding its app's lock.
 */
export function hostQueue(
  manifest: Reach,
  host: string,
): Pick<ActivityOptions, 'taskQueue' | 'scheduleToStartTimeout'> {
  return { taskQueue: hostTaskQueue(host), scheduleToStartTimeout: durationMs(unreachableAfter(manifest)) };
}

/**
 * The activities with one group's options (src/common/activity-options.ts); a host's groups go to that
 * host's task queue. `options` adjusts the group for one run (a job's own timeout and attempts).
 */
export function activitiesFor(
  group: OptionGroup,
  on?: { manifest: Reach; host: string },
  options: ActivityOptions = {},
) {
  if (ON_HOST.has(group) !== (on !== undefined))
    throw new TypeError(`activity group ${group} ${on === undefined ? 'needs' : 'takes no'} host`);
  const base: ActivityOptions = ACTIVITY_OPTIONS[group];
  const acts = proxyActivities<Activities>({
    ...base,
    ...options,
    retry: { ...base.retry, ...options.retry },
    ...(on ? hostQueue(on.manifest, on.host) : {}),
  });
  return on ? reachableOnly(on.manifest, on.host, acts) : acts;
}

/** Activities that need no particular server (manifest, records): the workflow's own queue. */
export const orchestration = activitiesFor('orchestration');

/** Activities that act on one host's server, with the `host` group's options. */
export function hostActivities(manifest: Reach, host: string) {
  return activitiesFor('host', { manifest, host });
}

/** Runs an activity with the one line the Web UI's timeline shows for it ("stop services", "switch current → r1"). */
export function described<A extends unknown[], R>(
  fn: ActivityFunctionWithOptions<(...args: A) => Promise<R>>,
  summary: string,
  ...args: A
): Promise<R> {
  return fn.executeWithOptions({ summary }, args);
}

/**
 * Runs a host activity with another group's options and its timeline line, on the same host:
 * `inGroup('files', acts.archiveLiveFolder, 'snapshot: archive /srv/app', [request])`.
 */
export function inGroup<A extends unknown[], R>(
  group: OptionGroup,
  fn: ActivityFunctionWithOptions<(...args: A) => Promise<R>>,
  summary: string,
  args: A,
  options: ActivityOptions = {},
): Promise<R> {
  return fn.executeWithOptions({ ...ACTIVITY_OPTIONS[group], ...options, summary }, args);
}

/** A host's activities with the caller's timeouts and retries; once the host proved unreachable they fail at once. */
export function hostActivitiesWith(
  manifest: Reach,
  host: string,
  options: Omit<ActivityOptions, 'taskQueue' | 'scheduleToStartTimeout'>,
) {
  return reachableOnly(manifest, host, proxyActivities<Activities>({ ...hostQueue(manifest, host), ...options }));
}

/**
 * Patch id: backups, restores and jobs whose host has no worker end as `unreachable` (not `failed`), and
 * their later activities there fail at once, as deploys and rollbacks do. Earlier runs keep waiting out
 * the limit for each activity and ending as failed.
 */
export const UNREACHABLE_OUTCOME = 'unreachable-outcome';

/** Whether this run treats a host without a worker as deploys do (see UNREACHABLE_OUTCOME). */
export function endsAsUnreachable(): boolean {
  return patched(UNREACHABLE_OUTCOME);
}

/**
 * How a run ends: cancelled, succeeded, or failed — `unreachable` when a host it needed had no worker, for
 * runs that tell the two apart (`unreachableAware`, see UNREACHABLE_OUTCOME).
 */
export function endingOutcome(run: { cancelled?: boolean; failed: boolean; unreachableAware: boolean }): Outcome {
  if (run.cancelled) return 'cancelled';
  if (!run.failed) return 'succeeded';
  return run.unreachableAware && unreachableHosts.size > 0 ? 'unreachable' : 'failed';
}

// Workflow module state is the run's own (the SDK isolates it per workflow execution).
const unreachableHosts = new Set<string>();

/** Hosts this run found without a worker. */
export function unreachableHostsOfRun(): string[] {
  return [...unreachableHosts];
}

function unreachableFailure(manifest: Reach, host: string): ApplicationFailure {
  return failure(
    'HostUnreachable',
    `host ${host} is unreachable: no worker took its work from task queue ${hostTaskQueue(host)} within ${unreachableAfter(manifest)}; start one there (runbook worker --host ${host}) and run again`,
  );
}

/** Whether a failure (or its cause) says a host has no worker. */
export function isHostUnreachable(error: unknown): boolean {
  for (let cause = error as { cause?: unknown } | undefined; cause; cause = cause.cause as typeof cause) {
    if (isFailureOf(cause, 'HostUnreachable')) return true;
    if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_START) return true;
  }
  return false;
}

/**
 * Patch id: an activity that waited out `unreachableAfter` on a host whose worker the server knows (it polled
 * lately: its slots are busy, or it is starved of CPU) is scheduled again instead of ending the run as
 * unreachable; only a host without a known worker is unreachable. Earlier runs end at the first wait.
 */
export const BUSY_HOST_WAITS = 'busy-host-waits';

/** Whether an activity's wait for a worker ran out on a host that has one, so it waits again (BUSY_HOST_WAITS). */
async function queuedBehindBusyWorker(error: ActivityFailure, host: string): Promise<boolean> {
  const waitedOut = error.cause instanceof TimeoutFailure && error.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
  return waitedOut && patched(BUSY_HOST_WAITS) && (await orchestration.hostHasWorker({ host }));
}

/**
 * Once one activity found a host without a worker, the run's further activities there fail at once (an
 * undo, a record) instead of each waiting out the limit again: the run ends within a bounded time.
 */
function reachableOnly<T extends object>(manifest: Reach, host: string, acts: T): T {
  const guard = async <R>(call: () => Promise<R>): Promise<R> => {
    for (;;) {
      if (unreachableHosts.has(host)) throw unreachableFailure(manifest, host);
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof ActivityFailure && isHostUnreachable(error))) throw error;
        if (await queuedBehindBusyWorker(error, host)) continue;
        unreachableHosts.add(host);
        throw unreachableFailure(manifest, host);
      }
    }
  };
  return new Proxy(acts, {
    get(target, name) {
      const fn = (
        target as Record<string | symbol, ActivityFunctionWithOptions<(...args: unknown[]) => Promise<unknown>>>
      )[name];
      const guarded = (...args: unknown[]) => guard(() => fn(...args));
      guarded.executeWithOptions = (options: ActivityOptions, args: unknown[]) =>
        guard(() => fn.executeWithOptions(options, args));
      return guarded;
    },
  });
}
