import { CancellationScope, log } from '@temporalio/workflow';
import type { NotifyResult } from '../activities/notify';
import { eventOf, selectedEvents } from '../common/notify-events';
import type { RunReport } from '../common/progress';
import type { Manifest } from '../manifest/types';
import { activitiesFor } from './activities';
import { failureMessage } from './progress';

const { notify } = activitiesFor('notify');

/**
 * Sends a finished run's notification through the manifest's channels, if `notify.on` selects one of its
 * events. Never throws: a failed notification is logged (and recorded by the activity) and the run keeps
 * its outcome. Runs even when the workflow is being cancelled, so a cancelled deploy still reports.
 * Call it after the run's outcome is settled (after a rollback), so it cannot delay one.
 */
export async function notifyQuietly(
  report: RunReport,
  manifest: Pick<Manifest, 'notify'> & Partial<Pick<Manifest, 'env'>>,
  events: string[] = [eventOf(report)],
  about: { scheduleId?: string; key?: string; occurrence?: number } = {},
): Promise<NotifyResult | undefined> {
  if (manifest.notify.channels.length === 0 || selectedEvents(manifest.notify.on, events).length === 0)
    return undefined;
  const { occurrence, ...subject } = about;
  try {
    return await CancellationScope.nonCancellable(() =>
      notify({
        report,
        notify: manifest.notify,
        env: manifest.env,
        events,
        ...subject,
        ...(occurrence ? { occurrence } : {}),
      }),
    );
  } catch (error) {
    log.warn('notification not delivered; the run keeps its outcome', { events, error: failureMessage(error) });
    return undefined;
  }
}
