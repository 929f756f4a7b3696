import type { Activities } from '../activities';
import { durationMs } from '../common/duration';
import { checkLabel } from '../common/labels';
import type { Manifest } from '../manifest/types';
import { inGroup } from './activities';
import type { ActivityInterfaceFor } from '@temporalio/workflow';

type StepRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/**
 * An app's health checks after a (re)start: the live checks together, each retried until it passes or
 * `health.within` runs out; then the log checks, which judge everything written since the restart.
 */
export async function runHealthChecks(
  acts: ActivityInterfaceFor<Activities>,
  manifest: Manifest,
  logOffsets: Record<string, number>,
  step: StepRunner,
): Promise<void> {
  const withinMs = durationMs(manifest.health.within);
  const intervalMs = durationMs(manifest.health.interval);
  const check = (c: Manifest['health']['checks'][number], within: number) =>
    step(checkLabel(c), () =>
      inGroup(
        'health',
        acts.checkHealth,
        `health ${checkLabel(c)}`,
        [{ manifest, check: c, withinMs: within, intervalMs, logOffsets }],
        {
          startToCloseTimeout: within + 60_000,
        },
      ),
    );
  const live = manifest.health.checks.filter((c) => !('logs' in c));
  const results = await Promise.allSettled(live.map((c) => check(c, withinMs)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  for (const logs of manifest.health.checks.filter((c) => 'logs' in c)) await check(logs, 0);
}
