import { isCancellation, workflowInfo, CancellationScope } from '@temporalio/workflow';
import type { DeployInput } from '../common/contracts';
import { DeployInputError, planDeploy, type DeployPlan, type PlannedStep } from '../common/deploy-plan';
import { durationMs as durationToMs } from '../common/duration';
import { failure } from '../common/failures';
import { checkLabel } from '../common/labels';
import { appLockWorkflowId, compactTimestamp, deployDir, hostPrefix } from '../common/names';
import type { Outcome, RunReport } from '../common/progress';
import { deployInputSchema } from '../common/workflow-inputs';
import type { Manifest } from '../manifest/types';
import { described, hostActivities, inGroup } from './activities';
import { runHealthChecks } from './health';
import { validInput } from './input';
import { OperatorControls } from './operator';
import { failureMessage, type ProgressTracker } from './progress';
import type { ReportFacts } from './report';
import { beginRun, endRun, loadManifest, tagReleasedRun } from './run';
import { failOnBug } from './run-guard';
import { Saga } from './saga';

/**
 * Deploys `ref` of an app: preflight, snapshot, update, install/migrate/build, switch and restart, health.
 * Every step that changes the server registers its undo; a failure (or a cancel) runs the undos in reverse
 * and checks the previous version's health. The event history is the audit log.
 */
export async function deploy(raw: unknown): Promise<RunReport> {
  const input = validInput(deployInputSchema, raw);
  return failOnBug('deploy', input.app, () => deployApp(input));
}

async function deployApp(input: DeployInput): Promise<RunReport> {
  const info = workflowInfo();
  if (info.workflowId !== appLockWorkflowId(input.app))
    throw failure(
      'BadInput',
      `start deploys of ${input.app} with workflow id '${appLockWorkflowId(input.app)}', so that only one runs at a time`,
    );

  const lifecycle = beginRun('deploy', input.app, { ref: input.ref });
  const progress = lifecycle.progress;
  const releaseId = `${compactTimestamp(info.runStartTime.getTime())}-${info.runId.slice(0, 8)}`;
  const operator = new OperatorControls(progress);

  const manifest = await loadManifest(lifecycle);
  let plan: DeployPlan;
  try {
    plan = planDeploy(manifest, input, releaseId);
  } catch (error) {
    if (error instanceof DeployInputError) throw failure('BadInput', error.message);
    throw error;
  }
  progress.plan(plan.hosts.flatMap((h) => h.steps.map((s) => s.name)));
  tagReleasedRun(lifecycle);

  const saga = new Saga();
  const run: DeployRun = {
    manifest,
    plan,
    input,
    releaseId,
    progress,
    saga,
    operator,
    migrated: false,
    changed: false,
  };
  let outcome: Outcome = 'succeeded';
  let error: string | undefined;
  let cancelled = false;
  let cancellation: unknown;
  try {
    for (const hostPlan of plan.hosts) {
      await deployHost(run, hostPlan.host, hostPlan.steps);
    }
    if (manifest.strategy === 'releases') {
      for (const host of manifest.hosts) {
        const acts = hostActivities(host);
        const prefix = hostPrefix(manifest, host);
        await progress.run(`${prefix}mark release ${releaseId} good`, () =>
          described(acts.markRelease, `mark release ${releaseId} good`, { manifest, releaseId, status: 'good' }),
        );
        await progress.run(
          `${prefix}prune old releases`,
          () => described(acts.pruneReleases, 'prune old releases', { manifest, protect: [releaseId] }),
          (gone) => (gone.length ? `removed ${gone.join(', ')}` : 'nothing to remove'),
        );
      }
    }
  } catch (failure) {
    cancelled = isCancellation(failure);
    if (cancelled) cancellation = failure;
    error = cancelled ? 'cancelled by an operator' : failureMessage(failure);
    progress.state = 'compensating';
    const undone = await CancellationScope.nonCancellable(async () => {
      if (manifest.strategy === 'releases')
        for (const host of manifest.hosts)
          await hostActivities(host).markRelease({ manifest, releaseId, status: 'bad', note: error });
      return saga.compensate(progress);
    });
    outcome = undone.failed.length > 0 ? 'failed' : 'rolled_back';
    if (undone.failed.length > 0)
      error = `${error}; ROLLBACK FAILED: ${undone.failed.map((f) => `${f.name}: ${f.error}`).join('; ')}`;
  }

  // A cancelled deploy ends as Canceled in the UI, after its compensations ran; the report is in the memo and log.
  return endRun(lifecycle, reportFacts(run, outcome, error, cancelled), {
    cancellation: cancelled ? cancellation : undefined,
  });
}

interface DeployRun {
  manifest: Manifest;
  plan: DeployPlan;
  input: DeployInput;
  releaseId: string;
  progress: ProgressTracker;
  saga: Saga;
  operator: OperatorControls;
  /** A migration started (the `if-migrated` database policy depends on it). */
  migrated: boolean;
  /** Something on a server changed, so there is something to undo. */
  changed: boolean;
}

async function deployHost(run: DeployRun, host: string, steps: PlannedStep[]): Promise<void> {
  const { manifest, releaseId, progress, saga, input } = run;
  const acts = hostActivities(host);
  const inPlace = manifest.strategy === 'in-place';
  const releaseDir = deployDir(manifest, releaseId);
  const stepDir = manifest.source.type === 'image' ? manifest.root : releaseDir;
  const preflightDir = manifest.source.type === 'copy' ? manifest.source.from : manifest.root;
  const extraEnv: Record<string, string> = {
    RUNBOOK_RELEASE: releaseId,
    RUNBOOK_RELEASE_DIR: releaseDir,
    RUNBOOK_REF: input.ref,
  };
  if (manifest.source.type === 'image')
    Object.assign(extraEnv, { IMAGE_TAG: input.ref, RUNBOOK_IMAGE: `${manifest.source.image}:${input.ref}` });
  let logOffsets: Record<string, number> = {};
  let previous: string | undefined;

  const prefix = hostPrefix(manifest, host);
  const undoStart = () =>
    saga.add(`${prefix}start previous services and check health`, async () => {
      if (!inPlace && !previous) {
        await described(acts.stopServices, 'stop services of the failed release', { manifest });
        throw failure(
          'NothingToRollBackTo',
          `first deploy of ${manifest.app} on ${host} failed and there is no previous release to go back to; services stopped`,
        );
      }
      const offsets = await described(acts.captureLogOffsets, 'note log sizes before the restart', { manifest });
      await described(acts.startServices, 'start previous services', { manifest });
      await runHealthChecks(acts, manifest, offsets, (name, fn) =>
        progress.run(`${prefix}rollback health: ${name}`, fn),
      );
    });
  // The first change on this host registers the undo that runs last: start the previous version, check it.
  let touched = false;
  const touch = () => {
    if (touched) return;
    touched = true;
    run.changed = true;
    undoStart();
  };

  for (const step of steps) {
    const name = step.name;
    switch (step.action) {
      case 'check-environment':
        await progress.run(name, () => described(acts.checkEnvironment, name, { manifest }));
        break;
      case 'check-dependency': {
        const check = manifest.dependencies[step.check!.index];
        await progress.run(name, () =>
          inGroup('dependency', acts.checkHealth, `dependency ${checkLabel(check)}`, [
            { manifest, check, withinMs: 10_000, intervalMs: 1_000 },
          ]),
        );
        break;
      }
      case 'run-step': {
        const { phase, index } = step.step!;
        if (phase === 'migrate' && !run.migrated) {
          touch();
          run.migrated = true; // set before it runs: a failed migration may have half-applied
        }
        const timeout = manifest.steps[phase][index].timeout;
        await progress.run(
          name,
          () =>
            inGroup(
              'step',
              acts.runStep,
              name,
              [
                {
                  manifest,
                  phase,
                  index,
                  deployId: releaseId,
                  dir: phase === 'preflight' ? preflightDir : stepDir,
                  values: run.plan.values,
                  extraEnv,
                },
              ],
              timeout ? { startToCloseTimeout: durationToMs(timeout) + 60_000 } : {},
            ),
          (r) => (r.reused ? 'done by an earlier attempt' : `exit 0 in ${Math.round(r.durationMs / 100) / 10}s`),
        );
        break;
      }
      case 'find-previous-release': {
        const view = await progress.run(
          name,
          () => acts.describeReleases({ manifest }),
          (v) => (v.current ? `previous release ${v.current}` : 'first deploy: no previous release'),
        );
        previous = view.current;
        break;
      }
      case 'archive-live-folder': {
        touch();
        const archive = await progress.run(
          name,
          () => inGroup('files', acts.archiveLiveFolder, name, [{ manifest, deployId: releaseId }]),
          (r) => `${r.file} (${r.bytes} bytes)`,
        );
        saga.add(`${prefix}restore archive of ${manifest.root}`, async () => {
          await described(acts.stopServices, 'stop services', { manifest });
          await inGroup('files', acts.restoreLiveFolder, `restore ${archive.file}`, [
            { manifest, deployId: releaseId, archive: archive.file },
          ]);
        });
        break;
      }
      case 'snapshot-database': {
        touch();
        await progress.run(
          name,
          () => inGroup('database', acts.snapshotDatabase, name, [{ manifest, deployId: releaseId }]),
          (r) => r.file,
        );
        const policy = manifest.rollback.database;
        if (policy !== 'never') {
          saga.add(`${prefix}restore database snapshot (${policy})`, async () => {
            if (policy === 'if-migrated' && !run.migrated) return;
            await described(acts.stopServices, 'stop services', { manifest });
            await inGroup('database', acts.restoreDatabaseSnapshot, 'restore database snapshot', [
              { manifest, deployId: releaseId },
            ]);
          });
        }
        break;
      }
      case 'prepare-release':
        await progress.run(
          name,
          () => inGroup('release', acts.prepareRelease, name, [{ manifest, releaseId, ref: input.ref }]),
          (r) => (r.commit ? `commit ${r.commit.slice(0, 12)}` : `release ${r.id}`),
        );
        break;
      case 'copy-into-place':
        await progress.run(name, () => inGroup('files', acts.copyIntoPlace, name, [{ manifest, deployId: releaseId }]));
        break;
      case 'approval': {
        const why = await run.operator.approval(
          name,
          manifest.approval.timeout,
          durationToMs(manifest.approval.timeout),
        );
        await progress.run(name, async () => {
          if (why) throw failure('NotApproved', `deploy not approved: ${why}`);
          return 'approved';
        });
        break;
      }
      case 'stop-services':
        touch();
        if (!inPlace) {
          saga.add(`${prefix}stop services and switch back to ${previous ?? 'nothing'}`, async () => {
            await described(acts.stopServices, 'stop services of the failed release', { manifest });
            if (previous)
              await described(acts.switchCurrent, `switch current back → ${previous}`, {
                manifest,
                releaseId: previous,
              });
          });
        }
        await progress.run(
          name,
          () => described(acts.stopServices, name, { manifest }),
          (m) => m.join('; '),
        );
        break;
      case 'switch-current':
        await progress.run(name, () => described(acts.switchCurrent, name, { manifest, releaseId }));
        break;
      case 'start-services':
        logOffsets = await described(acts.captureLogOffsets, 'note log sizes before the start', { manifest });
        await progress.run(
          name,
          () => described(acts.startServices, name, { manifest }),
          (m) => m.join('; '),
        );
        break;
      case 'health-check':
        break; // the checks run together below, once everything is started
    }
  }
  await runHealthChecks(acts, manifest, logOffsets, (checkName, fn) =>
    progress.run(`${prefix}health: ${checkName}`, fn),
  );
}

function reportFacts(run: DeployRun, outcome: Outcome, error: string | undefined, cancelled: boolean): ReportFacts {
  const { manifest, input, releaseId } = run;
  const what = `${manifest.app} ${input.ref}`;
  const summary =
    outcome === 'succeeded'
      ? `deployed ${what} (release ${releaseId})`
      : outcome === 'rolled_back'
        ? `${cancelled ? 'cancelled' : 'rolled back'} deploy of ${what}: ${error}${run.changed ? '; previous version restored and healthy' : '; nothing was changed'}`
        : `deploy of ${what} FAILED and was not fully rolled back: ${error}`;
  return {
    outcome,
    summary,
    error,
    ref: input.ref,
    release: releaseId,
    details: { hosts: manifest.hosts, strategy: manifest.strategy, migrated: run.migrated },
  };
}
