import { proxyActivities, type ActivityFunctionWithOptions, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ACTIVITY_OPTIONS, ON_HOST, type OptionGroup } from '../common/activity-options';
import { hostTaskQueue } from '../common/names';

/**
 * The activities with one group's options: on `host`'s task queue for a host group. `options` adjusts the
 * group for one run (a job's own timeout and attempts).
 */
export function activitiesFor(group: OptionGroup, host?: string, options: ActivityOptions = {}) {
  if (ON_HOST.has(group) !== (host !== undefined))
    throw new TypeError(`activity group ${group} ${host === undefined ? 'needs' : 'takes no'} host`);
  const base: ActivityOptions = ACTIVITY_OPTIONS[group];
  return proxyActivities<Activities>({
    ...base,
    ...options,
    retry: { ...base.retry, ...options.retry },
    ...(host !== undefined ? { taskQueue: hostTaskQueue(host) } : {}),
  });
}

/** Activities that need no particular server (manifest, records): the workflow's own queue. */
export const orchestration = activitiesFor('orchestration');

/** Activities that act on one host's server, with the `host` group's options. */
export function hostActivities(host: string) {
  return activitiesFor('host', host);
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
