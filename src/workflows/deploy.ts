import {
  ApplicationFailure,
  isCancellation,
  patched,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  CancellationScope,
  log,
} from '@temporalio/workflow';
import type { StepPhase } from '../activities/steps';
import { appLockWorkflowId, type DeployInput } from '../common/contracts';
import { deployInputSchema } from '../common/workflow-inputs';
import { DeployInputError, planDeploy, type DeployPlan, type PlannedStep } from '../common/deploy-plan';
import { checkLabel } from '../common/labels';
import { compactTimestamp } from '../common/names';
import type { Outcome, RunReport } from '../common/progress';
import { ACTION, APP, OUTCOME, REF } from '../common/search-attributes';
import type { Manifest } from '../manifest/types';
import { durationMs as durationToMs } from '../common/duration';
import { described, hostActivities, isHostUnreachable, orchestration } from './activities';
import { bakeRelease } from './bake';
import { switchesBlueGreen } from './blue-green';
import { runHealthChecks } from './health';
import { resetStableIds, runStamp } from './ids';
import { runReport } from './report';
import { notifyQuietly } from './notify';
import { validInput } from './input';
import { failureMessage, ProgressTracker } from './progress';
import { OperatorControls } from './operator';
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
    throw ApplicationFailure.nonRetryable(
      `start deploys of ${input.app} with workflow id '${appLockWorkflowId(input.app)}', so that only one runs at a time`,
      'BadInput',
    );

  const progress = new ProgressTracker('deploy', input.app);
  const releaseId = resetStableIds()
    ? runStamp()
    : `${compactTimestamp(info.runStartTime.getTime())}-${info.runId.slice(0, 8)}`;
  const operator = new OperatorControls(progress);

  const manifest = await progress.run(
    'load manifest',
    () => described(orchestration.loadManifest, `load manifest ${input.app}`, input.app),
    (m) => `hosts: ${m.hosts.join(', ')}`,
  );
  let plan: DeployPlan;
  try {
    plan = planDeploy(manifest, input, releaseId);
  } catch (error) {
    if (error instanceof DeployInputError) throw ApplicationFailure.nonRetryable(error.message, 'BadInput');
    throw error;
  }
  progress.plan(plan.hosts.flatMap((h) => h.steps.map((s) => s.name)));
  upsertSearchAttributes([
    { key: APP, value: input.app },
    { key: REF, value: input.ref },
    { key: ACTION, value: 'deploy' },
    { key: OUTCOME, value: 'running' },
  ]);

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
    switching: switchesBlueGreen(manifest),
  };
  let outcome: Outcome = 'succeeded';
  let error: string | undefined;
  let cancelled = false;
  let cancellation: unknown;
  try {
    const logOffsets: Record<string, Record<string, number>> = {};
    for (const hostPlan of plan.hosts) logOffsets[hostPlan.host] = await deployHost(run, hostPlan.host, hostPlan.steps);
    // Good only once it stayed healthy: the previous release is kept (not pruned) until then, for a fast way back.
    await bakeRelease(manifest, progress, logOffsets);
    // Until here a rollback switches blue/green services back to the previous release, still running.
    if (run.switching)
      for (const host of manifest.hosts)
        await progress.run(
          `${manifest.hosts.length > 1 ? `${host}: ` : ''}stop the previous release's blue/green services`,
          () =>
            described(
              hostActivities(manifest, host).retirePrevious,
              "stop the previous release's blue/green services",
              {
                manifest,
              },
            ),
          (m) => m.join('; ') || 'none running',
        );
    operator.pausable = false;
    if (manifest.strategy === 'releases') {
      for (const host of manifest.hosts) {
        const acts = hostActivities(manifest, host);
        const prefix = manifest.hosts.length > 1 ? `${host}: ` : '';
        await progress.run(`${prefix}mark release ${releaseId} good`, () =>
          described(acts.markRelease, `mark release ${releaseId} good`, { manifest, releaseId, status: 'good' }),
        );
        await progress.run(
          `${prefix}prune old releases`,
          () => described(acts.pruneReleases, 'prune old releases', { manifest, protect: [releaseId] }),
          (gone) => (gone.length ? `removed ${gone.join(', ')}` : 'nothing to remove'),
        );
      }
    } else if (patched(IN_PLACE_RETENTION)) {
      for (const host of manifest.hosts) {
        const prefix = manifest.hosts.length > 1 ? `${host}: ` : '';
        await progress.run(
          `${prefix}prune old snapshots`,
          () =>
            described(hostActivities(manifest, host).pruneInPlace, 'prune old copies, zips and failed trees', {
              manifest,
              protect: [releaseId],
            }),
          (gone) => (gone.length ? `removed what ${gone.join(', ')} left` : 'nothing to remove'),
        );
      }
    }
  } catch (failure) {
    operator.pausable = false;
    cancelled = isCancellation(failure);
    if (cancelled) cancellation = failure;
    error = cancelled ? 'cancelled by an operator' : failureMessage(failure);
    // rollback.auto: false — a failed deploy is left as it is for an operator to look at (a cancel still undoes)
    const leaveAsIs = !cancelled && !manifest.rollback.auto && patched(ROLLBACK_AUTO_FALSE);
    progress.state = leaveAsIs ? progress.state : 'compensating';
    const undone = await CancellationScope.nonCancellable(async () => {
      if (manifest.strategy === 'releases')
        for (const host of manifest.hosts)
          await hostActivities(manifest, host)
            .markRelease({ manifest, releaseId, status: 'bad', note: error })
            .catch((e) => log.warn('release not marked bad', { host, error: failureMessage(e) }));
      return leaveAsIs ? { failed: [] } : saga.compensate(progress);
    });
    run.leftAsIs = leaveAsIs;
    outcome = isHostUnreachable(failure)
      ? 'unreachable'
      : undone.failed.length > 0 || leaveAsIs
        ? 'failed'
        : 'rolled_back';
    if (undone.failed.length > 0)
      error = `${error}; ROLLBACK FAILED: ${undone.failed.map((f) => `${f.name}: ${f.error}`).join('; ')}`;
  }

  const report = buildReport(run, outcome, error, cancelled);
  await CancellationScope.nonCancellable(() => finish(manifest, report));
  progress.state = outcome;
  if (outcome === 'succeeded') return report;
  // A cancelled deploy ends as Canceled in the UI, after its compensations ran; the report is in the memo and log.
  if (cancelled) throw cancellation;
  throw ApplicationFailure.nonRetryable(
    report.summary,
    outcome === 'rolled_back' ? 'DeployRolledBack' : outcome === 'unreachable' ? 'DeployUnreachable' : 'DeployFailed',
    report,
  );
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
  /** The deploy failed and, as rollback.auto: false asks, nothing was undone. */
  leftAsIs?: boolean;
  /** Blue/green services keep serving through the stop and the switch; the undo's start switches them back. */
  switching: boolean;
}

/** Workflow changes after release, guarded so that recorded histories still replay. */
const IN_PLACE_RETENTION = 'in-place-retention';
const ROLLBACK_AUTO_FALSE = 'rollback-auto-false';

async function deployHost(run: DeployRun, host: string, steps: PlannedStep[]): Promise<Record<string, number>> {
  const { manifest, releaseId, progress, saga, input } = run;
  const acts = hostActivities(manifest, host);
  const inPlace = manifest.strategy === 'in-place';
  const releaseDir = inPlace ? manifest.root : `${manifest.root}/releases/${releaseId}`;
  // An image app without `code` has no files in its releases: its steps run in the app root.
  const stepDir = manifest.source.type === 'image' && !manifest.source.code ? manifest.root : releaseDir;
  const preflightDir = manifest.source.type === 'copy' ? manifest.source.from : manifest.root;
  const extraEnv: Record<string, string> = {
    RUNBOOK_RELEASE: releaseId,
    RUNBOOK_RELEASE_DIR: releaseDir,
    RUNBOOK_REF: input.ref,
  };
  let logOffsets: Record<string, number> = {};
  let previous: string | undefined;
  const servicesSwitching = run.switching ? { manifest, switching: true } : { manifest };

  const prefix = manifest.hosts.length > 1 ? `${host}: ` : '';
  const undoStart = () =>
    saga.add(`${prefix}start previous services and check health`, async () => {
      if (!inPlace && !previous) {
        await described(acts.stopServices, 'stop services of the failed release', { manifest });
        throw ApplicationFailure.nonRetryable(
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

  // While this host's old version serves (before its services stop), a failed step may wait for a decision.
  let oldVersionServes = true;
  for (const step of steps) {
    await run.operator.pausePoint(step.name, decisionTimeout(manifest));
    await withDecision(run, step, oldVersionServes, async () => {
      const name = step.name;
      switch (step.action) {
        case 'check-environment':
          await progress.run(name, () => acts.checkEnvironment.executeWithOptions({ summary: name }, [{ manifest }]));
          break;
        case 'check-dependency': {
          const check = manifest.dependencies[step.check!.index];
          await progress.run(name, () =>
            acts.checkHealth.executeWithOptions(
              { summary: `dependency ${checkLabel(check)}`, heartbeatTimeout: '20s' },
              [{ manifest, check, withinMs: 10_000, intervalMs: 1_000 }],
            ),
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
              acts.runStep.executeWithOptions(
                { summary: name, startToCloseTimeout: timeout ? durationToMs(timeout) + 60_000 : '2h' },
                [
                  {
                    manifest,
                    phase: phase as StepPhase,
                    index,
                    deployId: releaseId,
                    dir: phase === 'preflight' ? preflightDir : stepDir,
                    values: run.plan.values,
                    extraEnv,
                  },
                ],
              ),
            (r) =>
              r.ranOnce
                ? `runs once: done by deploy ${r.ranOnce}`
                : r.reused
                  ? 'done by an earlier attempt'
                  : `exit 0 in ${Math.round(r.durationMs / 100) / 10}s`,
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
            () =>
              acts.archiveLiveFolder.executeWithOptions(
                { summary: name, startToCloseTimeout: '1h', heartbeatTimeout: '10s' },
                [{ manifest, deployId: releaseId }],
              ),
            (r) => `${r.file} (${r.bytes} bytes)`,
          );
          saga.add(`${prefix}restore archive of ${manifest.root}`, async () => {
            await described(acts.stopServices, 'stop services', { manifest });
            await acts.restoreLiveFolder.executeWithOptions(
              { summary: `restore ${archive.file}`, startToCloseTimeout: '1h', heartbeatTimeout: '10s' },
              [{ manifest, deployId: releaseId, archive: archive.file }],
            );
          });
          break;
        }
        case 'snapshot-database': {
          touch();
          await progress.run(
            name,
            () =>
              acts.snapshotDatabase.executeWithOptions(
                { summary: name, startToCloseTimeout: '2h', heartbeatTimeout: '10s' },
                [{ manifest, deployId: releaseId }],
              ),
            (r) => r.file,
          );
          const policy = manifest.rollback.database;
          if (policy !== 'never') {
            saga.add(`${prefix}restore database snapshot (${policy})`, async () => {
              if (policy === 'if-migrated' && !run.migrated) return;
              await described(acts.stopServices, 'stop services', { manifest });
              await acts.restoreDatabaseSnapshot.executeWithOptions(
                { summary: 'restore database snapshot', startToCloseTimeout: '2h', heartbeatTimeout: '10s' },
                [{ manifest, deployId: releaseId }],
              );
            });
          }
          break;
        }
        case 'prepare-release':
          await progress.run(
            name,
            () =>
              acts.prepareRelease.executeWithOptions({ summary: name, startToCloseTimeout: '1h' }, [
                { manifest, releaseId, ref: input.ref },
              ]),
            (r) => (r.commit ? `commit ${r.commit.slice(0, 12)}` : `release ${r.id}`),
          );
          break;
        case 'build-image':
          await progress.run(
            name,
            () =>
              acts.buildImage.executeWithOptions({ summary: name, startToCloseTimeout: '2h' }, [
                { manifest, releaseId },
              ]),
            (r) => (r.reused ? `${r.image} (built by an earlier attempt)` : `built ${r.image}`),
          );
          break;
        case 'copy-into-place':
          await progress.run(name, () =>
            acts.copyIntoPlace.executeWithOptions(
              { summary: name, startToCloseTimeout: '1h', heartbeatTimeout: '10s' },
              [{ manifest, deployId: releaseId }],
            ),
          );
          break;
        case 'approval': {
          const why = await run.operator.approval(
            name,
            manifest.approval.timeout,
            durationToMs(manifest.approval.timeout),
          );
          await progress.run(name, async () => {
            if (why) throw ApplicationFailure.nonRetryable(`deploy not approved: ${why}`, 'NotApproved');
            return 'approved';
          });
          break;
        }
        case 'stop-services':
          touch();
          oldVersionServes = false;
          if (!inPlace) {
            saga.add(`${prefix}stop services and switch back to ${previous ?? 'nothing'}`, async () => {
              await described(acts.stopServices, 'stop services of the failed release', servicesSwitching);
              if (previous)
                await described(acts.switchCurrent, `switch current back → ${previous}`, {
                  manifest,
                  releaseId: previous,
                });
            });
          }
          await progress.run(
            name,
            () => acts.stopServices.executeWithOptions({ summary: name }, [servicesSwitching]),
            (m) => m.join('; '),
          );
          break;
        case 'switch-current':
          await progress.run(name, () =>
            acts.switchCurrent.executeWithOptions({ summary: name }, [{ manifest, releaseId }]),
          );
          break;
        case 'start-services':
          logOffsets = await described(acts.captureLogOffsets, 'note log sizes before the start', { manifest });
          await progress.run(
            name,
            () => acts.startServices.executeWithOptions({ summary: name }, [servicesSwitching]),
            (m) => m.join('; '),
          );
          break;
        case 'health-check':
          break; // the checks run together below, once everything is started
      }
    });
  }
  await runHealthChecks(acts, manifest, logOffsets, (checkName, fn) =>
    progress.run(`${prefix}health: ${checkName}`, fn),
  );
  return logOffsets;
}

/**
 * Runs one planned step. Under onFailure: ask, a step that fails while the old version still serves waits for
 * an operator (retry it, skip it if skippable, or roll back; roll back when nobody decides in time) instead
 * of rolling back at once.
 */
async function withDecision(
  run: DeployRun,
  step: PlannedStep,
  oldVersionServes: boolean,
  act: () => Promise<void>,
): Promise<void> {
  const { manifest, input } = run;
  for (;;) {
    try {
      return await act();
    } catch (failure) {
      const ask = (input.onFailure ?? manifest.onFailure) === 'ask';
      if (!ask || !oldVersionServes || step.action === 'approval' || isCancellation(failure)) throw failure;
      // A host nobody serves fails everything at once: nothing to retry there until a worker polls again.
      if (isHostUnreachable(failure)) throw failure;
      const error = failureMessage(failure);
      const skippable =
        step.action === 'run-step' && Boolean(manifest.steps[step.step!.phase][step.step!.index].skippable);
      const timeout = decisionTimeout(manifest);
      const decision = await run.operator.decision(
        { step: step.name, error, skippable },
        durationToMs(timeout),
        (wait) => announceWaiting(run, step.name, error, wait),
      );
      if (decision === 'retry') continue;
      if (decision === 'skip') {
        run.progress.skip(step.name, `skipped by an operator after: ${error.split('\n')[0]}`);
        return;
      }
      const why = decision === 'timeout' ? `no decision within ${timeout}` : 'rolled back by an operator';
      throw ApplicationFailure.nonRetryable(`${why} after: ${error}`, 'DecidedRollback');
    }
  }
}

/** How long a decision or a pause may take; manifests loaded by a run started before the field existed lack it. */
function decisionTimeout(manifest: Manifest): string {
  return manifest.decisionTimeout ?? '1h';
}

/** Tells the manifest's channels that a deploy waits for a decision, and how to give it. */
async function announceWaiting(run: DeployRun, step: string, error: string, wait: number): Promise<void> {
  const { manifest, input, releaseId } = run;
  const { workflowId } = workflowInfo();
  const until = run.progress.waiting?.until;
  const report = runReport(run.progress, {
    outcome: 'failed',
    summary:
      `deploy of ${manifest.app} ${input.ref} waits for a decision: ${step} failed; ` +
      `runbook retry|skip|rollback-now ${workflowId}${until ? ` before ${until}` : ''}, or it rolls back`,
    error,
    ref: input.ref,
    release: releaseId,
  });
  await notifyQuietly(report, manifest, ['deploy.waiting'], { occurrence: wait });
}

function buildReport(run: DeployRun, outcome: Outcome, error: string | undefined, cancelled: boolean): RunReport {
  const { manifest, input, releaseId } = run;
  const what = `${manifest.app} ${input.ref}`;
  const summary =
    outcome === 'succeeded'
      ? `deployed ${what} (release ${releaseId})`
      : outcome === 'rolled_back'
        ? `${cancelled ? 'cancelled' : 'rolled back'} deploy of ${what}: ${error}${run.changed ? '; previous version restored and healthy' : '; nothing was changed'}`
        : outcome === 'unreachable'
          ? `deploy of ${what} did not go through: ${error}`
          : run.leftAsIs
            ? `deploy of ${what} FAILED and was left as it is (rollback.auto: false, nothing undone): ${error}`
            : `deploy of ${what} FAILED and was not fully rolled back: ${error}`;
  return runReport(run.progress, {
    outcome,
    summary,
    error,
    ref: input.ref,
    release: releaseId,
    details: { hosts: manifest.hosts, strategy: manifest.strategy, migrated: run.migrated },
  });
}

/** Records and announces the outcome; neither may change it, so their failures are only noted. */
export async function finish(manifest: Manifest, report: RunReport, events?: string[]): Promise<void> {
  upsertSearchAttributes([{ key: OUTCOME, value: report.outcome }]);
  upsertMemo({ summary: report.summary });
  for (const host of manifest.hosts) {
    await described(
      hostActivities(manifest, host).recordRun,
      `record in ${manifest.hosts.length > 1 ? `${host}'s ` : ''}deploy log`,
      { manifest, report },
    ).catch((error) => log.warn('deploy log not written', { host, error: failureMessage(error) }));
  }
  await described(orchestration.recordRunInDatabase, 'record run in the audit database', report).catch((error) =>
    log.warn('run record not written', { error: failureMessage(error) }),
  );
  await notifyQuietly(report, manifest, events);
}
