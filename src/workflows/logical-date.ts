import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { workflowInfo } from '@temporalio/workflow';
import { resetStableIds } from './ids';

/** Set by Temporal Schedules on every run they start: the time the run was scheduled for. */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/**
 * The time a run is "for": the scheduled time when a Schedule started it (so a catch-up or backfill run
 * of last Tuesday processes last Tuesday), otherwise the time the run started.
 */
export function logicalTime(): Date {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  // The start event's time, which a reset keeps (the run's own start time changes with a reset).
  return scheduled ?? (resetStableIds() ? info.startTime : info.runStartTime);
}
