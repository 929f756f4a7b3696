import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  TimeoutFailure,
  type ActivityFunctionWithOptions,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { TimeoutType } from '@temporalio/common';
import { hostTaskQueue } from '../common/constants';
import { durationMs } from '../common/duration';
import type { Manifest } from '../manifest/types';

/**
 * Every activity heartbeats on a timer for its whole run (the worker's attempt interceptor), so every one
 * can have a heartbeat timeout: an attempt on a worker that died is retried within seconds, not minutes.
 */
export const ACTIVITY_HEARTBEAT_TIMEOUT = '10s';

/** Activities that need no particular server (manifest, records, notifications): the workflow's own queue. */
export const orchestration = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});

export const HOST_UNREACHABLE = 'HostUnreachable';

/** The manifest's default; also for manifests loaded (and kept in history) before the setting existed. */
const DEFAULT_UNREACHABLE_AFTER = '2m';

function unreachableAfter(manifest: Partial<Pick<Manifest, 'unreachableAfter'>>): string {
  return manifest.unreachableAfter ?? DEFAULT_UNREACHABLE_AFTER;
}

/**
 * Where a host's activities go and how long they wait there for a worker: a host nobody serves fails the
 * activity after `unreachableAfter` (the manifest's), so no run waits forever holding its app's lock.
 */
export function hostQueue(
  manifest: Pick<Manifest, 'unreachableAfter'>,
  host: string,
): Pick<ActivityOptions, 'taskQueue' | 'scheduleToStartTimeout'> {
  return { taskQueue: hostTaskQueue(host), scheduleToStartTimeout: durationMs(unreachableAfter(manifest)) };
}

/** Activities that act on one host's server run on that host's task queue. */
export function hostActivities(manifest: Pick<Manifest, 'unreachableAfter'>, host: string) {
  return hostActivitiesWith(manifest, host, {
    startToCloseTimeout: '10m',
    // A killed worker is noticed within seconds and the step retried on the next one.
    heartbeatTimeout: '5s',
    retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 20 },
  });
}

/** A host's activities with the caller's timeouts and retries; once the host proved unreachable they fail at once. */
export function hostActivitiesWith(
  manifest: Pick<Manifest, 'unreachableAfter'>,
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

/** The outcome of a run that ended in error: `unreachable` when a host it needed had no worker. */
export function outcomeOfError(): 'unreachable' | 'failed' {
  return unreachableHosts.size > 0 ? 'unreachable' : 'failed';
}

// Workflow module state is the run's own (the SDK isolates it per workflow execution).
const unreachableHosts = new Set<string>();

/** Hosts this run found without a worker. */
export function unreachableHostsOfRun(): string[] {
  return [...unreachableHosts];
}

function unreachableFailure(manifest: Pick<Manifest, 'unreachableAfter'>, host: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `host ${host} is unreachable: no worker took its work from task queue ${hostTaskQueue(host)} within ${unreachableAfter(manifest)}; start one there (runbook worker --host ${host}) and run again`,
    HOST_UNREACHABLE,
  );
}

/** Whether a failure (or its cause) says a host has no worker. */
export function isHostUnreachable(failure: unknown): boolean {
  for (let error = failure as { cause?: unknown } | undefined; error; error = error.cause as typeof error) {
    if (error instanceof ApplicationFailure && error.type === HOST_UNREACHABLE) return true;
    if (error instanceof TimeoutFailure && error.timeoutType === TimeoutType.SCHEDULE_TO_START) return true;
  }
  return false;
}

/**
 * Once one activity found a host without a worker, the run's further activities there fail at once (an
 * undo, a record) instead of each waiting out the limit again: the run ends within a bounded time.
 */
function reachableOnly<T extends object>(manifest: Pick<Manifest, 'unreachableAfter'>, host: string, acts: T): T {
  const guard = async <R>(call: () => Promise<R>): Promise<R> => {
    if (unreachableHosts.has(host)) throw unreachableFailure(manifest, host);
    try {
      return await call();
    } catch (error) {
      if (error instanceof ActivityFailure && isHostUnreachable(error)) {
        unreachableHosts.add(host);
        throw unreachableFailure(manifest, host);
      }
      throw error;
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

/** Runs an activity with the one line the Web UI's timeline shows for it ("stop services", "switch current → r1"). */
export function described<A extends unknown[], R>(
  fn: ActivityFunctionWithOptions<(...args: A) => Promise<R>>,
  summary: string,
  ...args: A
): Promise<R> {
  return fn.executeWithOptions({ summary }, args);
}
