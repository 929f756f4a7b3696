import { Context, log } from '@temporalio/activity';
import type { SlotOutcome } from '../common/schedule-slots';
import type { Manifest } from '../manifest/types';
import { reviewSchedule, type ScheduleReview, type SlotObservation } from '../client/schedule-outcomes';
import type { ActivityConfig } from './config';
import { recordMissedSchedule, workerMeter } from './metrics';

export interface AssessSchedulesRequest {
  manifest: Manifest;
  /** Per schedule name: every slot up to this time is settled (default: `since`). */
  cursors: Record<string, string>;
  /** Slots before this are not judged: when the watcher started. */
  since: string;
  /** Per schedule name and slot (ISO): what the watcher saw when the slot came due. */
  observations: Record<string, Record<string, SlotObservation>>;
}

export interface AssessSchedulesResult {
  /** The worker's clock when it looked. */
  checkedAt: string;
  schedules: ScheduleReview[];
}

/** The watcher's eyes: reads each schedule's slots since its cursor from Temporal and judges them. */
export function watchActivities(_config: ActivityConfig) {
  return {
    async assessSchedules(request: AssessSchedulesRequest): Promise<AssessSchedulesResult> {
      const { manifest } = request;
      const { client } = Context.current();
      const now = new Date();
      const schedules: ScheduleReview[] = [];
      for (const schedule of manifest.schedules) {
        schedules.push(
          await reviewSchedule(client, manifest, schedule, {
            after: new Date(request.cursors[schedule.name] ?? request.since),
            until: now,
            now,
            observations: request.observations[schedule.name],
          }),
        );
      }
      return { checkedAt: now.toISOString(), schedules };
    },

    /**
     * Counts a missed slot in the worker's metrics (`runbook_schedule_missed_total{app, schedule, reason}`) and
     * logs it; the alert itself goes through notify. The watcher calls this once per alert it sends.
     */
    async recordMissedSchedule(request: { app: string; schedule: string; outcome: SlotOutcome }): Promise<void> {
      const { app, schedule, outcome } = request;
      log.warn('missed schedule slot', {
        app,
        schedule,
        slot: outcome.slot,
        status: outcome.status,
        reason: outcome.reason,
        detail: outcome.detail,
      });
      recordMissedSchedule(workerMeter(), { app, schedule, reason: outcome.reason ?? outcome.status });
    },
  };
}
