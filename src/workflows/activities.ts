import { proxyActivities, type ActivityFunctionWithOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { hostTaskQueue } from '../common/names';

/** Activities that need no particular server (manifest, records, notifications): the workflow's own queue. */
export const orchestration = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});

/** Activities that act on one host's server run on that host's task queue. */
export function hostActivities(host: string) {
  return proxyActivities<Activities>({
    taskQueue: hostTaskQueue(host),
    startToCloseTimeout: '10m',
    // A killed worker is noticed within seconds and the step retried on the next one.
    heartbeatTimeout: '5s',
    retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 20 },
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
