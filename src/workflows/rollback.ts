import { patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RollbackInput } from '../common/contracts';
import { failure } from '../common/failures';
import { stepLabel } from '../common/labels';
import { appLockWorkflowId, hostPrefix } from '../common/names';
import type { Outcome, RunReport } from '../common/progress';
import { REF } from '../common/search-attributes';
import { rollbackInputSchema } from '../common/workflow-inputs';
import type { Manifest } from '../manifest/types';
import { described, hostActivities, inGroup, isHostUnreachable } from './activities';
import { switchesBlueGreen } from './blue-green';
import { runHealthChecks } from './health';
import { runStamp } from './ids';
import { validInput } from './input';
import { failureMessage, type ProgressTracker } from './progress';
import { beginRun, endRun, loadManifest } from './run';
import { failOnBug } from './run-guard';

/** Workflow changes after release, guarded so that recorded histories still replay. */
const IN_PLACE_ROLLBACK = 'in-place-rollback';

/**
 * Switches an app back to an earlier good release (the newest one before the current, or `to`) and
 * restarts its services, then checks health; an in-place app goes back to an earlier good deploy's folder.
 * Shares the deploy's per-app lock.
 */
export async function rollback(raw: unknown): Promise<RunReport> {
  const input = validInput(rollbackInputSchema, raw);
  return failOnBug('rollback', input.app, () => rollBack(input));
}

/** What a rollback goes back to on each host; `target` is set once the first host found it. */
interface RollbackRun {
  manifest: Manifest;
  input: RollbackInput;
  progress: ProgressTracker;
  target?: string;
}

async function rollBack(input: RollbackInput): Promise<RunReport> {
  const info = workflowInfo();
  if (info.workflowId !== appLockWorkflowId(input.app))
    throw failure(
      'BadInput',
      `start rollbacks of ${input.app} with workflow id '${appLockWorkflowId(input.app)}' (the deploy lock)`,
    );
  const run = beginRun('rollback', input.app);
  const manifest = await loadManifest(run);
  const inPlace = manifest.strategy !== 'releases';
  if (inPlace && !patched(IN_PLACE_ROLLBACK))
    throw failure(
      'BadInput',
      `${manifest.app} deploys in place: it has no releases to switch between; restore a backup instead (runbook restore)`,
    );

  const rollback: RollbackRun = { manifest, input, progress: run.progress, target: input.to };
  // An in-place rollback's install steps keep their markers under an id of their own.
  const rollbackId = inPlace ? runStamp() : undefined;
  let outcome: Outcome = 'succeeded';
  let error: string | undefined;
  try {
    for (const host of manifest.hosts)
      if (rollbackId) await restoreEarlierDeploy(rollback, host, rollbackId);
      else await switchBack(rollback, host);
  } catch (failure) {
    outcome = isHostUnreachable(failure) ? 'unreachable' : 'failed';
    error = failureMessage(failure);
  }
  const { target } = rollback;
  return endRun(run, {
    outcome,
    summary:
      outcome === 'succeeded'
        ? `rolled ${manifest.app} back to ${inPlace ? 'deploy' : 'release'} ${target}`
        : outcome === 'unreachable'
          ? `rollback of ${manifest.app} did not go through: ${error}`
          : `rollback of ${manifest.app} FAILED: ${error}`,
    error,
    release: target,
  });
}

/** Releases strategy, one host: switch `current` to the earlier good release and restart on it. */
async function switchBack(run: RollbackRun, host: string): Promise<void> {
  const { manifest, progress } = run;
  const acts = hostActivities(manifest, host);
  const prefix = hostPrefix(manifest, host);
  const view = await progress.run(
    `${prefix}find release`,
    () => described(acts.describeReleases, 'find releases', { manifest }),
    (v) => `current ${v.current ?? 'none'}`,
  );
  if (!run.target) {
    const older = view.releases.filter(
      (r) => r.status === 'good' && r.id !== view.current && (!view.current || r.id < view.current),
    );
    run.target = older[older.length - 1]?.id;
    if (!run.target)
      throw failure(
        'NothingToRollBackTo',
        `no earlier good release of ${manifest.app} to go back to; deploy a fixed version instead`,
      );
  } else if (!view.releases.some((r) => r.id === run.target)) {
    throw failure(
      'UnknownRelease',
      `release ${run.target} does not exist; list releases with: runbook releases ${manifest.app}`,
    );
  }
  const release = run.target;
  upsertSearchAttributes([{ key: REF, value: view.releases.find((r) => r.id === release)?.ref ?? release }]);
  // Blue/green services keep serving until their start has the release checked on the idle port.
  const stop = switchesBlueGreen(manifest) ? { manifest, switching: true } : { manifest };
  await progress.run(`${prefix}stop services`, () => described(acts.stopServices, 'stop services', stop));
  await progress.run(`${prefix}switch current → ${release}`, () =>
    described(acts.switchCurrent, `switch current → ${release}`, { manifest, releaseId: release }),
  );
  await restartAndCheck(run, host);
}

/**
 * In place, one host: back to an earlier good deploy (the newest before the live one, or `to`): its code from
 * the zip a later deploy took, the folder's venv, uploads and logs carried over, its install steps run again
 * so the venv matches it, its services restarted and checked, then old snapshots pruned.
 */
async function restoreEarlierDeploy(run: RollbackRun, host: string, rollbackId: string): Promise<void> {
  const { manifest, input, progress } = run;
  const acts = hostActivities(manifest, host);
  const prefix = hostPrefix(manifest, host);
  const view = await progress.run(
    `${prefix}find deploy`,
    () => described(acts.describeInPlaceDeploys, 'find earlier good deploys', { manifest }),
    (v) => `live ${v.live ?? 'unknown'}`,
  );
  if (!run.target) run.target = view.restorable[0]?.id;
  const deploy = run.target;
  if (!deploy || !view.restorable.some((d) => d.id === deploy))
    throw failure(
      'NothingToRollBackTo',
      input.to
        ? `deploy ${input.to} cannot be rolled back to: it is not an earlier good deploy whose folder is kept (${view.restorable.map((d) => d.id).join(', ') || 'none is'})`
        : `no earlier good deploy of ${manifest.app} is kept to go back to; deploy a fixed version instead`,
    );
  upsertSearchAttributes([{ key: REF, value: view.restorable.find((d) => d.id === deploy)?.ref ?? deploy }]);
  await progress.run(`${prefix}stop services`, () => described(acts.stopServices, 'stop services', { manifest }));
  await progress.run(`${prefix}restore deploy ${deploy}`, () =>
    inGroup('files', acts.restoreEarlierDeploy, `restore deploy ${deploy} into ${manifest.root}`, [
      { manifest, rollbackId, target: deploy },
    ]),
  );
  const values = { app: manifest.app, ref: deploy, release: deploy, root: manifest.root, releaseDir: manifest.root };
  for (const [index, step] of manifest.steps.install.entries())
    await progress.run(`${prefix}install: ${stepLabel(step)}`, () =>
      inGroup('step', acts.runStep, `install: ${stepLabel(step)}`, [
        { manifest, phase: 'install', index, deployId: rollbackId, dir: manifest.root, values },
      ]),
    );
  await restartAndCheck(run, host);
  await progress.run(
    `${prefix}prune old snapshots`,
    () =>
      inGroup('files', acts.pruneInPlace, 'prune old copies, zips and failed trees', [
        { manifest, protect: [rollbackId] },
      ]),
    (gone) => (gone.length ? `removed what ${gone.join(', ')} left` : 'nothing to remove'),
  );
}

/** Starts the app's services on the host and checks their health against the logs written since. */
async function restartAndCheck(run: RollbackRun, host: string): Promise<void> {
  const { manifest, progress } = run;
  const acts = hostActivities(manifest, host);
  const offsets = await described(acts.captureLogOffsets, 'note log sizes before the start', { manifest });
  await progress.run(`${hostPrefix(manifest, host)}start services`, () =>
    described(acts.startServices, 'start services', { manifest }),
  );
  await runHealthChecks(acts, manifest, offsets, (name, fn) =>
    progress.run(`${hostPrefix(manifest, host)}health: ${name}`, fn),
  );
}
