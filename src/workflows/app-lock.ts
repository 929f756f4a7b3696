import {
  ChildWorkflowCancellationType,
  condition,
  defineSignal,
  ParentClosePolicy,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { failure } from '../common/failures';
import { appLockWorkflowId } from '../common/names';

export const releaseSignal = defineSignal<[]>('release');

export interface AppLockInput {
  app: string;
  /** The workflow id of the run holding the lock, for whoever finds it taken. */
  holder: string;
}

/**
 * Holds an app's lock for another run: it runs under the app's lock id (`deploy-<app>`), so Temporal refuses
 * a deploy or rollback while it runs, until its holder releases it or ends (it is the holder's child,
 * terminated with it: the lock cannot go stale).
 */
export async function appLock(_input: AppLockInput): Promise<void> {
  let released = false;
  setHandler(releaseSignal, () => void (released = true));
  await condition(() => released);
}

export interface HeldLock {
  release(): Promise<void>;
}

/** Takes the app's lock for this run, or fails at once (non-retryably) while a deploy, rollback or restore runs. */
export async function takeAppLock(app: string, holder: string, what: string): Promise<HeldLock> {
  const workflowId = appLockWorkflowId(app);
  try {
    const child = await startChild(appLock, {
      workflowId,
      args: [{ app, holder }],
      // Held through the holder's own cancellation (its undos still change live data); ended with the holder.
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
    });
    return {
      async release() {
        // A lock already gone (terminated by hand) is released all the same.
        await child.signal(releaseSignal).catch(() => undefined);
        await child.result().catch(() => undefined);
      },
    };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      throw failure(
        'AppLocked',
        `${app} is busy: a deploy, rollback or restore of it runs as workflow ${workflowId}; ${what} once it has ended`,
      );
    throw error;
  }
}
