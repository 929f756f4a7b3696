import { patched, workflowInfo } from '@temporalio/workflow';
import { compactTimestamp } from '../common/names';

/**
 * Patch id: names of things on disk (releases, step markers, archives, snapshots, backups) and keys of
 * records (deploy log lines, notifications) derive from what a Temporal reset keeps — the run's start event
 * — instead of the run id, which a reset changes. Runs recorded before this patch keep their old names.
 */
export const RESET_STABLE_IDS = 'reset-stable-ids';

export function resetStableIds(): boolean {
  return patched(RESET_STABLE_IDS);
}

/** The run id written on the run's start event: a reset keeps it, and no two runs share it. */
export function runKey(): string {
  return workflowInfo().originalExecutionRunId;
}

/**
 * `<start time>-<8 hex>` for names: the time the run's start event was written and the random end of its
 * run id (a UUIDv7 run id begins with a timestamp, so its first digits are the same for runs a minute apart).
 */
export function runStamp(): string {
  const info = workflowInfo();
  return `${compactTimestamp(info.startTime.getTime())}-${runKey().replace(/-/g, '').slice(-8)}`;
}
