import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';

/**
 * When the server last saw each worker poll `taskQueue` for tasks of `kind`. The server forgets a worker that
 * has not polled for a few minutes; a worker whose task slots are all busy does not poll meanwhile.
 */
export async function lastPolls(client: Client, taskQueue: string, kind: 'workflow' | 'activity'): Promise<Date[]> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType:
      kind === 'workflow'
        ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
        : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (response.pollers ?? [])
    .map((p) => (p.lastAccessTime ? tsToMs(p.lastAccessTime) : 0))
    .filter((t) => t > 0)
    .map((t) => new Date(t));
}
