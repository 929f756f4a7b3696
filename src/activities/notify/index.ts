import { log } from '@temporalio/activity';
import type { RunReport } from '../../common/progress';
import type { Manifest } from '../../manifest/types';
import type { ActivityConfig } from '../config';

export interface NotifyRequest {
  report: RunReport;
  notify: Manifest['notify'];
}

export interface NotifyResult {
  event: string;
  /** Channels that accepted the message. */
  delivered: string[];
  /** Channels skipped because the manifest does not ask for this event. */
  skipped: boolean;
}

/** The event name of a report, as the manifest's `notify.on` lists them (deploy.rolled_back, job.summary). */
export function eventOf(report: RunReport): string {
  return `${report.kind}.${report.outcome}`;
}

// Placeholder until the notifications issue adds channels: records the event in the worker log.
export function notifyActivities(_config: ActivityConfig) {
  return {
    async notify(request: NotifyRequest): Promise<NotifyResult> {
      const event = eventOf(request.report);
      log.info('notification event', { event, app: request.report.app, summary: request.report.summary });
      return { event, delivered: [], skipped: request.notify.channels.length === 0 };
    },
  };
}
