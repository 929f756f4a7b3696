import { CancellationScope } from '@temporalio/workflow';
import { bakeStepName } from '../common/deploy-plan';
import { durationMs } from '../common/duration';
import { hostPrefix } from '../common/names';
import type { Manifest } from '../manifest/types';
import { hostActivities, inGroup } from './activities';
import { workflowNow } from './clock';
import type { ProgressTracker } from './progress';

/**
 * After every host passed its first checks: one bake activity per host, all at once, for the manifest's
 * window (`health.bake`). The first that finds the release unhealthy fails the deploy (it then rolls back like
 * a failed health check) and stops the others. One heartbeating activity per host keeps the history small
 * however long the window.
 */
export async function bakeRelease(
  manifest: Manifest,
  progress: ProgressTracker,
  logOffsets: Record<string, Record<string, number>>,
): Promise<void> {
  const bake = manifest.health.bake;
  if (!bake) return;
  const bakeMs = durationMs(bake);
  const until = new Date(workflowNow() + bakeMs).toISOString();
  const scope = new CancellationScope();
  const bakeHost = (host: string) =>
    progress.run(
      `${hostPrefix(manifest, host)}${bakeStepName(bake)}`,
      () =>
        inGroup(
          'bake',
          hostActivities(manifest, host).bake,
          `bake: watch for ${bake} (until ${until})`,
          [
            {
              manifest,
              until,
              intervalMs: durationMs(manifest.health.bakeInterval),
              logOffsets: logOffsets[host] ?? {},
            },
          ],
          { startToCloseTimeout: bakeMs + 5 * 60_000 },
        ),
      (result) => result.summary,
      until,
    );
  try {
    await scope.run(() => Promise.all(manifest.hosts.map(bakeHost)));
  } catch (error) {
    scope.cancel();
    throw error;
  }
}
