import { CancellationScope, isCancellation, log, patched, workflowInfo } from '@temporalio/workflow';
import type { DeployInput } from '../common/contracts';
import {
  DeployInputError,
  planDeploy,
  UNDO_BEFORE_STEP,
  undoLabel,
  type DeployPlan,
  type PlannedStep,
  type UndoAction,
} from '../common/deploy-plan';
import { durationMs as durationToMs } from '../common/duration';
import { failure } from '../common/failures';
import { checkLabel } from '../common/labels';
import { appLockWorkflowId, compactTimestamp, deployDir, hostPrefix } from '../common/names';
import type { Outcome, RunReport } from '../common/progress';
import { deployInputSchema } from '../common/workflow-inputs';
import type { Manifest } from '../manifest/types';
import { described, hostActivities, inGroup, isHostUnreachable } from './activities';
import { bakeRelease } from './bake';
import { switchesBlueGreen } from './blue-green';
import { resetStableIds, runStamp } from './ids';
import { runHealthChecks } from './health';
import { validInput } from './input';
import { OperatorControls } from './operator';
import { failureMessage, type ProgressTracker } from './progress';
import { notifyQuietly } from './notify';
import { runReport, type ReportFacts } from './report';
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
  const releaseId = resetStableIds()
    ? runStamp()
    : `${compactTimestamp(info.runStartTime.getTime())}-${info.runId.slice(0, 8)}`;
  const operator = new OperatorControls(progress);

  const manifest = await loadManifest(lifecycle);
  let plan: DeployPlan;
  try {
    plan = planDeploy(manifest, input, releaseId);
  } catch (error) {
    if (error instanceof DeployInputError) throw failure('BadInput', error.message);
    throw error;
  }
  progress.plan([...plan.hosts, ...plan.finish].flatMap((h) => h.steps.map((s) => s.name)));
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
          `${hostPrefix(manifest, host)}stop the previous release's blue/green services`,
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
    // In-place deploys started before in-place retention end at their health checks (histories replay).
    const finishes = manifest.strategy === 'releases' || patched(IN_PLACE_RETENTION);
    for (const hostPlan of plan.finish)
      for (const step of hostPlan.steps)
        if (finishes) await runPlannedStep(run, onHost(run, hostPlan.host), step);
        else progress.skip(step.name, 'not done by deploys started before in-place retention');
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
  /** The deploy failed and, as rollback.auto: false asks, nothing was undone. */
  leftAsIs?: boolean;
  /** Blue/green services keep serving through the stop and the switch; the undo's start switches them back. */
  switching: boolean;
}

/** Workflow changes after release, guarded so that recorded histories still replay. */
const IN_PLACE_RETENTION = 'in-place-retention';
const ROLLBACK_AUTO_FALSE = 'rollback-auto-false';

/** Where a deploy's steps run on one host, and what they found there that later steps and undos need. */
interface HostContext {
  host: string;
  acts: ReturnType<typeof hostActivities>;
  preflightDir: string;
  stepDir: string;
  extraEnv: Record<string, string>;
  /** The release `current` pointed at before (releases strategy); the archive of the live folder (in place). */
  found: { previous?: string; archive?: string };
}

function onHost(run: DeployRun, host: string): HostContext {
  const { manifest, releaseId, input } = run;
  const releaseDir = deployDir(manifest, releaseId);
  const extraEnv: Record<string, string> = {
    RUNBOOK_RELEASE: releaseId,
    RUNBOOK_RELEASE_DIR: releaseDir,
    RUNBOOK_REF: input.ref,
  };
  return {
    host,
    acts: hostActivities(manifest, host),
    preflightDir: manifest.source.type === 'copy' ? manifest.source.from : manifest.root,
    // An image app without `code` has no files in its releases: its steps run in the app root.
    stepDir: manifest.source.type === 'image' && !manifest.source.code ? manifest.root : releaseDir,
    extraEnv,
    found: {},
  };
}

/**
 * One host's steps in the plan's order, each registering the undos the plan lists; then its health checks.
 * Returns the log sizes noted before its services started (what log checks and the bake judge from).
 */
async function deployHost(run: DeployRun, host: string, steps: PlannedStep[]): Promise<Record<string, number>> {
  const { manifest, releaseId, progress, saga } = run;
  const context = onHost(run, host);
  const { acts, found } = context;
  let logOffsets: Record<string, number> = {};

  const undo: Record<UndoAction, () => Promise<void>> = {
    'start-previous': async () => {
      if (manifest.strategy !== 'in-place' && !found.previous) {
        await described(acts.stopServices, 'stop services of the failed release', { manifest });
        throw failure(
          'NothingToRollBackTo',
          `first deploy of ${manifest.app} on ${host} failed and there is no previous release to go back to; services stopped`,
        );
      }
      const offsets = await described(acts.captureLogOffsets, 'note log sizes before the restart', { manifest });
      await described(acts.startServices, 'start previous services', { manifest });
      await runHealthChecks(acts, manifest, offsets, (name, fn) =>
        progress.run(`${hostPrefix(manifest, host)}rollback health: ${name}`, fn),
      );
    },
    'restore-archive': async () => {
      await described(acts.stopServices, 'stop services', { manifest });
      await inGroup('files', acts.restoreLiveFolder, `restore ${found.archive}`, [
        { manifest, deployId: releaseId, archive: found.archive as string },
      ]);
    },
    'restore-database': async () => {
      if (manifest.rollback.database === 'if-migrated' && !run.migrated) return;
      await described(acts.stopServices, 'stop services', { manifest });
      await inGroup('database', acts.restoreDatabaseSnapshot, 'restore database snapshot', [
        { manifest, deployId: releaseId },
      ]);
    },
    'switch-back': async () => {
      await described(acts.stopServices, 'stop services of the failed release', services(run));
      if (found.previous)
        await described(acts.switchCurrent, `switch current back → ${found.previous}`, {
          manifest,
          releaseId: found.previous,
        });
    },
  };
  /** The saga takes the undos the plan lists for a step: some before it runs, the others once it succeeded. */
  const register = (step: PlannedStep, before: boolean) => {
    for (const action of step.undo.filter((u) => UNDO_BEFORE_STEP.includes(u) === before)) {
      if (action === 'start-previous') run.changed = true;
      saga.add(undoLabel(action, manifest, host, { previous: found.previous }), undo[action]);
    }
  };

  // While this host's old version serves (until its services stop), a failed step may wait for a decision.
  let oldVersionServes = true;
  for (const step of steps) {
    await run.operator.pausePoint(step.name, decisionTimeout(manifest));
    const serves = oldVersionServes;
    if (step.action === 'stop-services') oldVersionServes = false;
    if (step.action === 'run-step' && step.step.phase === 'migrate') run.migrated = true; // a failed one may have half-applied
    register(step, true);
    await withDecision(run, step, serves, async () => {
      logOffsets = (await runPlannedStep(run, context, step)) ?? logOffsets;
    });
    register(step, false);
  }
  await runHealthChecks(acts, manifest, logOffsets, (checkName, fn) =>
    progress.run(`${hostPrefix(manifest, host)}health: ${checkName}`, fn),
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
    } catch (error) {
      const ask = (input.onFailure ?? manifest.onFailure) === 'ask';
      if (!ask || !oldVersionServes || step.action === 'approval' || isCancellation(error)) throw error;
      // A host nobody serves fails everything at once: nothing to retry there until a worker polls again.
      if (isHostUnreachable(error)) throw error;
      const message = failureMessage(error);
      const skippable =
        step.action === 'run-step' && Boolean(manifest.steps[step.step.phase][step.step.index].skippable);
      const timeout = decisionTimeout(manifest);
      const decision = await run.operator.decision(
        { step: step.name, error: message, skippable },
        durationToMs(timeout),
        (wait) => announceWaiting(run, step.name, message, wait),
      );
      if (decision === 'retry') continue;
      if (decision === 'skip') {
        run.progress.skip(step.name, `skipped by an operator after: ${message.split('\n')[0]}`);
        return;
      }
      const why = decision === 'timeout' ? `no decision within ${timeout}` : 'rolled back by an operator';
      throw failure('DecidedRollback', `${why} after: ${message}`);
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

/**
 * Runs one planned step on its host with its option group; returns the log sizes noted before services
 * start (what log health checks judge from). Health checks are left for the host's end: they run together.
 */
async function runPlannedStep(
  run: DeployRun,
  where: HostContext,
  step: PlannedStep,
): Promise<Record<string, number> | void> {
  const { manifest, releaseId, progress, input } = run;
  const { acts } = where;
  const { name, group } = step;
  switch (step.action) {
    case 'check-environment':
      await progress.run(name, () => inGroup(group, acts.checkEnvironment, name, [{ manifest }]));
      return;
    case 'check-dependency': {
      const check = manifest.dependencies[step.check];
      await progress.run(name, () =>
        inGroup(group, acts.checkHealth, `dependency ${checkLabel(check)}`, [
          { manifest, check, withinMs: 10_000, intervalMs: 1_000 },
        ]),
      );
      return;
    }
    case 'run-step': {
      const { phase, index } = step.step;
      const request = {
        manifest,
        phase,
        index,
        deployId: releaseId,
        dir: phase === 'preflight' ? where.preflightDir : where.stepDir,
        values: run.plan.values,
        extraEnv: where.extraEnv,
      };
      const timeout = step.startToCloseTimeoutMs ? { startToCloseTimeout: step.startToCloseTimeoutMs } : {};
      await progress.run(
        name,
        () => inGroup(group, acts.runStep, name, [request], timeout),
        (r) =>
          r.ranOnce
            ? `runs once: done by deploy ${r.ranOnce}`
            : r.reused
              ? 'done by an earlier attempt'
              : `exit 0 in ${Math.round(r.durationMs / 100) / 10}s`,
      );
      return;
    }
    case 'find-previous-release': {
      const view = await progress.run(
        name,
        () => acts.describeReleases({ manifest }),
        (v) => (v.current ? `previous release ${v.current}` : 'first deploy: no previous release'),
      );
      where.found.previous = view.current;
      return;
    }
    case 'archive-live-folder': {
      const archive = await progress.run(
        name,
        () => inGroup(group, acts.archiveLiveFolder, name, [{ manifest, deployId: releaseId }]),
        (r) => `${r.file} (${r.bytes} bytes)`,
      );
      where.found.archive = archive.file;
      return;
    }
    case 'snapshot-database':
      await progress.run(
        name,
        () => inGroup(group, acts.snapshotDatabase, name, [{ manifest, deployId: releaseId }]),
        (r) => r.file,
      );
      return;
    case 'prepare-release':
      await progress.run(
        name,
        () => inGroup(group, acts.prepareRelease, name, [{ manifest, releaseId, ref: input.ref }]),
        (r) => (r.commit ? `commit ${r.commit.slice(0, 12)}` : `release ${r.id}`),
      );
      return;
    case 'build-image':
      await progress.run(
        name,
        () => inGroup(group, acts.buildImage, name, [{ manifest, releaseId }]),
        (r) => (r.reused ? `${r.image} (built by an earlier attempt)` : `built ${r.image}`),
      );
      return;
    case 'copy-into-place':
      await progress.run(name, () => inGroup(group, acts.copyIntoPlace, name, [{ manifest, deployId: releaseId }]));
      return;
    case 'approval': {
      const why = await run.operator.approval(name, manifest.approval.timeout, durationToMs(manifest.approval.timeout));
      await progress.run(name, async () => {
        if (why) throw failure('NotApproved', `deploy not approved: ${why}`);
        return 'approved';
      });
      return;
    }
    case 'stop-services':
      await progress.run(
        name,
        () => inGroup(group, acts.stopServices, name, [services(run)]),
        (m) => m.join('; '),
      );
      return;
    case 'switch-current':
      await progress.run(name, () => inGroup(group, acts.switchCurrent, name, [{ manifest, releaseId }]));
      return;
    case 'start-services': {
      const offsets = await described(acts.captureLogOffsets, 'note log sizes before the start', { manifest });
      await progress.run(
        name,
        () => inGroup(group, acts.startServices, name, [services(run)]),
        (m) => m.join('; '),
      );
      return offsets;
    }
    case 'health-check':
      return; // the checks run together at the host's end, once everything is started
    case 'bake':
      return; // every host bakes at once, after all passed their checks (bakeRelease)
    case 'mark-release-good':
      await progress.run(name, () =>
        inGroup(group, acts.markRelease, `mark release ${releaseId} good`, [{ manifest, releaseId, status: 'good' }]),
      );
      return;
    case 'prune-in-place':
      await progress.run(
        name,
        () =>
          inGroup(group, acts.pruneInPlace, 'prune old copies, zips and failed trees', [
            { manifest, protect: [releaseId] },
          ]),
        (gone) => (gone.length ? `removed what ${gone.join(', ')} left` : 'nothing to remove'),
      );
      return;
    case 'prune-releases':
      await progress.run(
        name,
        () => inGroup(group, acts.pruneReleases, 'prune old releases', [{ manifest, protect: [releaseId] }]),
        (gone) => (gone.length ? `removed ${gone.join(', ')}` : 'nothing to remove'),
      );
      return;
  }
}

/** What a deploy's stop and start of services take: blue/green services switch instead of stopping first. */
function services(run: DeployRun): { manifest: Manifest; switching?: true } {
  return run.switching ? { manifest: run.manifest, switching: true } : { manifest: run.manifest };
}

function reportFacts(run: DeployRun, outcome: Outcome, error: string | undefined, cancelled: boolean): ReportFacts {
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
  return {
    outcome,
    summary,
    error,
    ref: input.ref,
    release: releaseId,
    details: { hosts: manifest.hosts, strategy: manifest.strategy, migrated: run.migrated },
  };
}
