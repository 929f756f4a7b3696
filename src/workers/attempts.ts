import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { claimName, progressDetails, throwIfCancelled } from '../activities/attempt';

/** How often an attempt heartbeats: well inside its heartbeat timeout, at most once a second. */
export function heartbeatEveryMs(heartbeatTimeoutMs: number | undefined): number {
  if (!heartbeatTimeoutMs) return 1_000;
  return Math.max(50, Math.min(1_000, Math.floor(heartbeatTimeoutMs / 4)));
}

/**
 * The name every attempt of one activity execution claims: scoped by the worker's lock folder (workers of
 * one host share it, as they share Runbook's state folder), then the execution.
 */
export function attemptClaimName(lockDir: string, context: Pick<Context, 'info'>): string {
  const { info } = context;
  const key = [
    path.resolve(lockDir),
    info.workflowNamespace,
    info.workflowExecution?.workflowId,
    info.workflowExecution?.runId,
    info.activityId,
  ].join('\0');
  return `runbook-attempt-${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * The one mechanism by which every activity keeps its promise of never overlapping itself: it heartbeats on
 * a timer for its whole run (whatever the activity does, as long as it does not block the event loop), so
 * a live attempt is never timed out and a cancel or timeout reaches it within a heartbeat; and it first
 * claims the activity's lock, so a retry waits until the attempt before it has truly stopped (a dead
 * worker's lock died with it).
 */
export function attemptInterceptors(lockDir: string): ActivityInterceptorsFactory {
  return (context: Context) => ({
    inbound: {
      async execute(input, next) {
        const beat = () => context.heartbeat(progressDetails(context));
        beat();
        const timer = setInterval(beat, heartbeatEveryMs(context.info.heartbeatTimeoutMs));
        try {
          const claim = await claimName(
            attemptClaimName(lockDir, context),
            `an earlier attempt of ${context.info.activityType}`,
          );
          try {
            throwIfCancelled();
            return await next(input);
          } finally {
            await claim.release();
          }
        } finally {
          clearInterval(timer);
        }
      },
    },
  });
}
