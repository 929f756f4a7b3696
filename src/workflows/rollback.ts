import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RollbackInput } from '../common/contracts';
import { failure } from '../common/failures';
import { appLockWorkflowId, hostPrefix } from '../common/names';
import type { Outcome, RunReport } from '../common/progress';
import { REF } from '../common/search-attributes';
import { rollbackInputSchema } from '../common/workflow-inputs';
import { described, hostActivities, isHostUnreachable } from './activities';
import { switchesBlueGreen } from './blue-green';
import { runHealthChecks } from './health';
import { validInput } from './input';
import { failureMessage } from './progress';
import { beginRun, endRun, loadManifest } from './run';
import { failOnBug } from './run-guard';

/**
 * Switches an app back to an earlier good release (the newest one before the current, or `to`) and
 * restarts its services, then checks health. Shares the deploy's per-app lock.
 */
export async function rollback(raw: unknown): Promise<RunReport> {
  const input = validInput(rollbackInputSchema, raw);
  return failOnBug('rollback', input.app, () => rollBack(input));
}

async function rollBack(input: RollbackInput): Promise<RunReport> {
  const info = workflowInfo();
  if (info.workflowId !== appLockWorkflowId(input.app))
    throw failure(
      'BadInput',
      `start rollbacks of ${input.app} with workflow id '${appLockWorkflowId(input.app)}' (the deploy lock)`,
    );
  const run = beginRun('rollback', input.app);
  const progress = run.progress;
  const manifest = await loadManifest(run);
  if (manifest.strategy !== 'releases')
    throw failure(
      'BadInput',
      `${manifest.app} deploys in place: it has no releases to switch between; restore a backup instead (runbook restore)`,
    );

  let outcome: Outcome = 'succeeded';
  let error: string | undefined;
  let target = input.to;
  try {
    for (const host of manifest.hosts) {
      const acts = hostActivities(manifest, host);
      const prefix = hostPrefix(manifest, host);
      const view = await progress.run(
        `${prefix}find release`,
        () => described(acts.describeReleases, 'find releases', { manifest }),
        (v) => `current ${v.current ?? 'none'}`,
      );
      if (!target) {
        const older = view.releases.filter(
          (r) => r.status === 'good' && r.id !== view.current && (!view.current || r.id < view.current),
        );
        target = older[older.length - 1]?.id;
        if (!target)
          throw failure(
            'NothingToRollBackTo',
            `no earlier good release of ${manifest.app} to go back to; deploy a fixed version instead`,
          );
      } else if (!view.releases.some((r) => r.id === target)) {
        throw failure(
          'UnknownRelease',
          `release ${target} does not exist; list releases with: runbook releases ${manifest.app}`,
        );
      }
      upsertSearchAttributes([{ key: REF, value: view.releases.find((r) => r.id === target)?.ref ?? target }]);
      const release = target;
      // Blue/green services keep serving until their start has the release checked on the idle port.
      const stop = switchesBlueGreen(manifest) ? { manifest, switching: true } : { manifest };
      await progress.run(`${prefix}stop services`, () => described(acts.stopServices, 'stop services', stop));
      await progress.run(`${prefix}switch current → ${release}`, () =>
        described(acts.switchCurrent, `switch current → ${release}`, { manifest, releaseId: release }),
      );
      const offsets = await described(acts.captureLogOffsets, 'note log sizes before the start', { manifest });
      await progress.run(`${prefix}start services`, () =>
        described(acts.startServices, 'start services', { manifest }),
      );
      await runHealthChecks(acts, manifest, offsets, (name, fn) => progress.run(`${prefix}health: ${name}`, fn));
    }
  } catch (failure) {
    outcome = isHostUnreachable(failure) ? 'unreachable' : 'failed';
    error = failureMessage(failure);
  }
  return endRun(run, {
    outcome,
    summary:
      outcome === 'succeeded'
        ? `rolled ${manifest.app} back to release ${target}`
        : outcome === 'unreachable'
          ? `rollback of ${manifest.app} did not go through: ${error}`
          : `rollback of ${manifest.app} FAILED: ${error}`,
    error,
    release: target,
  });
}
