import { Context } from '@temporalio/activity';
import { lastPolls } from '../client/task-queues';
import { hostTaskQueue } from '../common/names';
import type { ActivityConfig } from './config';

export function queueActivities(_config: ActivityConfig) {
  return {
    /**
     * Whether the server knows a worker of `host`: one that polled its task queue lately (the server forgets
     * a worker a few minutes after its last poll). Work that waited out `unreachableAfter` on a host that has
     * one queued behind a busy worker; on a host without one, nobody serves it.
     */
    async hostHasWorker(request: { host: string }): Promise<boolean> {
      const { client } = Context.current();
      return (await lastPolls(client, hostTaskQueue(request.host), 'activity')).length > 0;
    },
  };
}
