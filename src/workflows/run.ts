import { CancellationScope, log, patched, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { failure, type FailureType } from '../common/failures';
import type { Outcome, RunKind, RunReport } from '../common/progress';
import { ACTION, APP, OUTCOME, REF } from '../common/search-attributes';
import type { Manifest } from '../manifest/types';
import { described, hostActivities, orchestration } from './activities';
import { notifyQuietly } from './notify';
import { failureMessage, ProgressTracker } from './progress';
import { runReport, type ReportFacts } from './report';

/**
 * One run of a workflow, from `beginRun` to `endRun`: its progress (the `progress` query, the Web UI's
 * current details), its search attributes, its manifest once loaded. Every run-type workflow (deploy,
 * rollback, backup, restore, job) starts and ends through these two functions and nothing else.
 */
export interface Run {
  readonly kind: RunKind;
  readonly app: string;
  readonly progress: ProgressTracker;
  /** Set by `loadManifest`: `endRun` records the run on the app's hosts and notifies its channels. */
  manifest?: Manifest;
  /** Deploys and jobs started before this lifecycle tagged themselves once planned (`tagReleasedRun`). */
  readonly tagsAfterManifest: boolean;
  /** Jobs started before this lifecycle recorded and ended in their own order, without a deploy-log line. */
  readonly releasedJob: boolean;
  readonly ref?: string;
  tagged: boolean;
}

// Module state is per run in Temporal's sandbox: this is the run executing this code, once begun.
let active: Run | undefined;

/** Guards the one-lifecycle change for deploys and jobs already running when it shipped (their histories). */
const ONE_LIFECYCLE = 'one-run-lifecycle';

/** Starts a run: its progress, and the search attributes on-call filters by (App, Action, Ref, Outcome running). */
export function beginRun(kind: RunKind, app: string, facts: { ref?: string } = {}): Run {
  const progress = new ProgressTracker(kind, app);
  const changed = kind === 'deploy' || kind === 'job';
  const current = !changed || patched(ONE_LIFECYCLE);
  const run: Run = {
    kind,
    app,
    progress,
    ref: facts.ref,
    tagsAfterManifest: !current,
    releasedJob: kind === 'job' && !current,
    tagged: false,
  };
  if (!run.tagsAfterManifest) tag(run);
  active = run;
  return run;
}

/**
 * The run this workflow began, or — when it failed before `beginRun` — a bare one to end: what a failure
 * outside the run's own handling (a bug in Runbook's workflow code) ends through `endRun`.
 */
export function currentRun(kind: RunKind, app: string): Run {
  return (
    active ?? {
      kind,
      app,
      progress: new ProgressTracker(kind, app),
      tagsAfterManifest: false,
      releasedJob: false,
      tagged: true,
    }
  );
}

function tag(run: Run): void {
  run.tagged = true;
  upsertSearchAttributes([
    { key: APP, value: run.app },
    ...(run.ref !== undefined ? [{ key: REF, value: run.ref }] : []),
    { key: ACTION, value: run.kind },
    ...(run.releasedJob ? [] : [{ key: OUTCOME, value: 'running' }]),
  ]);
}

/**
 * Loads and validates the app's manifest on a worker: the run's first step, unless the run lists other
 * steps only (a job's steps are its dates).
 */
export async function loadManifest(run: Run, options: { asStep: boolean } = { asStep: true }): Promise<Manifest> {
  const load = () => described(orchestration.loadManifest, `load manifest ${run.app}`, run.app);
  const manifest = options.asStep
    ? await run.progress.run('load manifest', load, (m) => `hosts: ${m.hosts.join(', ')}`)
    : await load();
  run.manifest = manifest;
  return manifest;
}

/**
 * Deploys and jobs started before one lifecycle set their search attributes only once planned, after the
 * manifest loaded: their histories replay that, through this call at that point. A no-op for new runs.
 */
export function tagReleasedRun(run: Run): void {
  if (!run.tagged) tag(run);
}

export interface Ending {
  /** The cancellation that ended the run: rethrown after the run is recorded, so it ends as Canceled. */
  cancellation?: unknown;
  /** The failure's message when it should say more than the report's summary. */
  message?: string;
  /** Notification events other than the outcome's own (a job's `job.summary`). */
  events?: string[];
  /** The memo's summary when the report's own leaves out what the run is (a job's name). */
  memo?: string;
  /** The failure's type when it is not the kind's own (a bug in Runbook's workflow code). */
  failureType?: FailureType;
}

/**
 * Ends a run: builds its report, records the outcome (search attribute, memo, a line in the deploy log on
 * each of the app's hosts, the run record in the audit database) and sends the notification the manifest
 * asks for — none of which can change the outcome, nor be cancelled. Then returns the report of a run that
 * succeeded, or fails the run with the report as the failure's details (a cancelled run ends Canceled).
 */
export async function endRun(run: Run, facts: ReportFacts, ending: Ending = {}): Promise<RunReport> {
  const report = runReport(run.progress, facts);
  await CancellationScope.nonCancellable(() =>
    run.releasedJob ? recordReleasedJob(run, report, ending) : record(run.manifest, report, ending),
  );
  run.progress.state = report.outcome;
  if (report.outcome === 'succeeded') return report;
  if (ending.cancellation) throw ending.cancellation;
  const type = ending.failureType ?? failureType(run.kind, report.outcome);
  throw failure(type, ending.message ?? report.summary, { details: [report] });
}

/**
 * Records a run that keeps its own beginning and ending (a restore drill): the outcome, memo, deploy log, audit
 * record and notification, as `endRun` does, without failing the run.
 */
export async function recordEnding(report: RunReport, manifest: Manifest | undefined): Promise<void> {
  await CancellationScope.nonCancellable(() => record(manifest, report, {}));
}

async function record(manifest: Manifest | undefined, report: RunReport, ending: Ending): Promise<void> {
  upsertSearchAttributes([{ key: OUTCOME, value: report.outcome }]);
  upsertMemo({ summary: ending.memo ?? report.summary });
  if (!manifest) return;
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
  await notifyQuietly(report, manifest, ending.events);
}

/** The ending of jobs started before this lifecycle: their histories replay this order. */
async function recordReleasedJob(run: Run, report: RunReport, ending: Ending): Promise<void> {
  await orchestration
    .recordRunInDatabase(report)
    .catch((error) => log.warn('run record not written', { error: failureMessage(error) }));
  upsertSearchAttributes([{ key: OUTCOME, value: report.outcome }]);
  upsertMemo({ summary: ending.memo ?? report.summary });
  if (run.manifest) await notifyQuietly(report, run.manifest, ending.events);
}

const FAILURE_OF: Record<RunKind, FailureType> = {
  drill: 'DrillFailed',
  // The watcher alerts through notifications and never ends through endRun.
  schedule: 'WorkflowBug',
  deploy: 'DeployFailed',
  rollback: 'RollbackFailed',
  backup: 'BackupFailed',
  restore: 'RestoreFailed',
  job: 'JobFailed',
};

/** How a run whose host had no worker fails: its own type, so on-call tells it from a failed one. */
const UNREACHABLE_OF: Partial<Record<RunKind, FailureType>> = {
  deploy: 'DeployUnreachable',
  backup: 'BackupUnreachable',
  restore: 'RestoreUnreachable',
  job: 'JobUnreachable',
};

function failureType(kind: RunKind, outcome: Outcome): FailureType {
  if (kind === 'deploy' && outcome === 'rolled_back') return 'DeployRolledBack';
  if (outcome === 'unreachable') return UNREACHABLE_OF[kind] ?? FAILURE_OF[kind];
  return FAILURE_OF[kind];
}
