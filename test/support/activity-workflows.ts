/**
 * A stand-in workflow that calls one real activity on a host queue with the timeouts a test chooses (a short
 * heartbeat timeout, few attempts), so a test can drive the real activities and the real worker at real size
 * without waiting out production timeouts.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';

export interface CallActivityInput {
  name: string;
  args: unknown[];
  taskQueue: string;
  heartbeatTimeout: Duration;
  startToCloseTimeout?: Duration;
  maximumAttempts?: number;
}

export async function callActivity(input: CallActivityInput): Promise<unknown> {
  const acts = proxyActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>({
    taskQueue: input.taskQueue,
    heartbeatTimeout: input.heartbeatTimeout,
    startToCloseTimeout: input.startToCloseTimeout ?? '10m',
    retry: { initialInterval: '200ms', maximumInterval: '1s', maximumAttempts: input.maximumAttempts ?? 5 },
  });
  return acts[input.name](...input.args);
}
