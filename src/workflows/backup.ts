import {
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BackupArtifact } from '../activities/backup';
import type { CatalogueEntry } from '../activities/catalogue';
import { formatBytes, scratchDatabaseName } from '../common/backup-names';
import { failure, NON_RETRYABLE_TYPES } from '../common/failures';
import { compactTimestamp, hostTaskQueue } from '../common/names';
import type { BackupInput } from '../common/contracts';
import { backupInputSchema, backupsInputSchema } from '../common/workflow-inputs';
import type { Outcome, RunReport } from '../common/progress';
import type { Manifest } from '../manifest/types';
import { finish } from './deploy';
import { logicalTime } from './logical-date';
import { validInput } from './input';
import { runReport } from './report';
import { failureMessage, ProgressTracker } from './progress';
import { failOnBug } from './run-guard';
import { tagOutcome, tagRun } from './search-attributes';

const { loadManifest } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3 },
});

/** Activities that touch the app's server run on its host's queue; dumps heartbeat every second. */
export function hostBackupActivities(manifest: Manifest) {
  const taskQueue = hostTaskQueue(manifest.hosts[0]);
  const long = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '12h',
    heartbeatTimeout: '10s',
    retry: {
      maximumAttempts: 3,
      initialInterval: '2s',
      backoffCoefficient: 2,
      nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
    },
  });
  const short = proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '2h',
    retry: {
      maximumAttempts: 5,
      initialInterval: '1s',
      backoffCoefficient: 2,
      nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
    },
  });
  return {
    createBackupArtifact: long.createBackupArtifact,
    verifyBackupArtifact: short.verifyBackupArtifact,
    verifyBackupRestore: short.verifyBackupRestore,
    recordBackup: short.recordBackup,
    applyBackupRetention: short.applyBackupRetention,
    listBackups: short.listBackups,
  };
}

export interface ArtifactSummary {
  id: string;
  target: string;
  file?: string;
  bytes?: number;
  sha256?: string;
  verified: boolean;
  verification?: string;
  error?: string;
}

/**
 * Backs up every target of an app's manifest (or one): dump or archive through a temporary name,
 * checksum, read-back verification, a catalogue entry, the optional restore test, then retention. A
 * target that fails does not stop the others; the run fails (without retrying) if any did, with its
 * report as the failure's details.
 */
export async function backup(raw: unknown): Promise<RunReport> {
  const input = validInput(backupInputSchema, raw);
  return failOnBug('backup', input.app, () => backUp(input));
}

async function backUp(input: BackupInput): Promise<RunReport> {
  const logical = logicalTime();
  const stamp = compactTimestamp(logical.getTime());
  const progress = new ProgressTracker('backup', input.app);
  tagRun(input.app, 'backup');

  const artifacts: ArtifactSummary[] = [];
  let manifest: Manifest | undefined;
  let error: string | undefined;
  let cancelled: unknown;
  try {
    manifest = await progress.run('load manifest', () => loadManifest(input.app));
    const targets = chooseTargets(manifest, input.target);
    const host = hostBackupActivities(manifest);
    progress.plan(targets.flatMap((t) => stepNames(manifest as Manifest, t)));

    for (const target of targets) {
      const summary = await backUpTarget(manifest, target, {
        stamp,
        logicalDate: logical.toISOString(),
        progress,
        host,
      });
      artifacts.push(summary);
      if (summary.verified) {
        await progress
          .run(
            `${target}: retention`,
            () => host.applyBackupRetention({ manifest: manifest as Manifest, target }),
            (r) =>
              r.deleted.length > 0
                ? `kept ${r.kept.length}, deleted ${r.deleted.join(', ')}`
                : `kept ${r.kept.length}, deleted none`,
          )
          .catch((e) =>
            log.warn('retention failed; the backup stands', { target, error: failureMessage(rethrowCancellation(e)) }),
          );
      } else {
        progress.skip(`${target}: retention`, 'the backup did not verify');
      }
    }
    const failed = artifacts.filter((a) => !a.verified);
    if (failed.length > 0)
      error =
        failed.map((a) => `${a.target}: ${a.error ?? a.verification}`).join('; ') +
        `; fix the cause and run the backup again (runbook backup ${input.app})`;
  } catch (e) {
    if (isCancellation(e)) cancelled = e;
    error = failureMessage(e);
  }

  const outcome: Outcome = cancelled ? 'cancelled' : error ? 'failed' : 'succeeded';
  const report: RunReport = runReport(progress, {
    outcome,
    summary: summarize(input.app, artifacts, error),
    ...(error ? { error } : {}),
    details: { logicalDate: logical.toISOString(), artifacts },
  });
  progress.state = outcome;
  await finishRun(report, manifest);
  if (cancelled) throw cancelled;
  if (error) throw failure('BackupFailed', `backup of ${input.app} failed: ${error}`, { details: [report] });
  return report;
}

/** A failure this run handles by itself, unless it is the run being cancelled: that one goes on up. */
function rethrowCancellation(error: unknown): unknown {
  if (isCancellation(error)) throw error;
  return error;
}

function chooseTargets(manifest: Manifest, target: string | undefined): string[] {
  const names = manifest.backups?.targets.map((t) => t.name) ?? [];
  if (names.length === 0)
    throw failure('BackupConfig', `${manifest.app}'s manifest has no backups.targets; add a postgres or files target`);
  if (target === undefined) return names;
  if (!names.includes(target))
    throw failure(
      'BackupConfig',
      `no backup target '${target}' in ${manifest.app}'s manifest; known targets: ${names.join(', ')}`,
    );
  return [target];
}

function stepNames(manifest: Manifest, target: string): string[] {
  const isDump = manifest.backups?.targets.some((t) => t.name === target && 'postgres' in t);
  const restoreTest = manifest.backups?.verifyRestore?.target === target;
  return [
    `${target}: ${isDump ? 'dump' : 'archive'}`,
    `${target}: verify`,
    ...(restoreTest ? [`${target}: verify restore`] : []),
    `${target}: retention`,
  ];
}

async function backUpTarget(
  manifest: Manifest,
  target: string,
  run: { stamp: string; logicalDate: string; progress: ProgressTracker; host: ReturnType<typeof hostBackupActivities> },
): Promise<ArtifactSummary> {
  const { progress, host } = run;
  const info = workflowInfo();
  const [dumpStep, verifyStep, restoreStep] = stepNames(manifest, target);
  let artifact: BackupArtifact;
  try {
    artifact = await progress.run(
      dumpStep,
      () =>
        host.createBackupArtifact({
          manifest,
          target,
          stamp: run.stamp,
          logicalDate: run.logicalDate,
          workflowId: info.workflowId,
          runId: info.runId,
        }),
      (a) => `${a.id}: ${formatBytes(a.bytes)}, sha256 ${a.sha256.slice(0, 12)}…`,
    );
  } catch (e) {
    return {
      id: `${manifest.app}-${target}-${run.stamp}`,
      target,
      verified: false,
      error: failureMessage(rethrowCancellation(e)),
    };
  }

  const check = await progress
    .run(
      verifyStep,
      async () => {
        const result = await host.verifyBackupArtifact(artifact);
        if (!result.verified) throw failure('VerificationFailed', `verification failed: ${result.detail}`);
        return result;
      },
      (r) => r.detail,
    )
    .catch((e) => ({ verified: false, detail: failureMessage(rethrowCancellation(e)) }));

  let entry: CatalogueEntry = { ...artifact, verified: check.verified, verification: check.detail };
  let problem = check.verified ? undefined : check.detail;
  await host.recordBackup({ manifest, entry });

  if (restoreStep?.endsWith('verify restore')) {
    if (!entry.verified) progress.skip(restoreStep, 'the artifact did not verify');
    else {
      const scratchDatabase = scratchDatabaseName(manifest.app, 'verify', run.stamp);
      const restored = await progress
        .run(
          restoreStep,
          async () => {
            const result = await host.verifyBackupRestore({ manifest, entry, scratchDatabase });
            if (!result.verified) throw failure('VerificationFailed', result.detail);
            return result;
          },
          (r) => r.detail,
        )
        .catch((e) => ({ verified: false, detail: failureMessage(rethrowCancellation(e)) }));
      entry = {
        ...entry,
        verified: restored.verified,
        restoreVerified: restored.verified,
        verification: `${entry.verification}; ${restored.detail}`,
      };
      await host.recordBackup({ manifest, entry });
      if (!restored.verified) problem = restored.detail;
    }
  }
  return {
    id: entry.id,
    target,
    file: entry.file,
    bytes: entry.bytes,
    sha256: entry.sha256,
    verified: entry.verified,
    verification: entry.verification,
    ...(problem ? { error: problem } : {}),
  };
}

function summarize(app: string, artifacts: ArtifactSummary[], error: string | undefined): string {
  const good = artifacts.filter((a) => a.verified);
  const parts = good.map((a) => `${a.target} ${formatBytes(a.bytes ?? 0)}`);
  if (!error) return `backup ${app}: ${good.length} verified artifact(s) (${parts.join(', ')})`;
  return `backup ${app} failed: ${good.length} of ${artifacts.length || 'its'} target(s) verified; ${error.split('\n')[0]}`;
}

/**
 * What every finished backup or restore does, as deploys do (`finish`): the outcome as search attribute
 * and memo, a line in the deploy log on each host, the run record in the audit database, and the
 * notification the manifest asks for. None of it can change the outcome, nor be cancelled.
 */
export async function finishRun(report: RunReport, manifest: Manifest | undefined): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    if (manifest) await finish(manifest, report);
    else {
      tagOutcome(report.outcome);
      upsertMemo({ summary: report.summary });
    }
  });
}

/** The catalogue of an app, for `runbook backups <app>`; read on the app's host. */
export async function backups(raw: unknown): Promise<CatalogueEntry[]> {
  const input = validInput(backupsInputSchema, raw);
  const manifest = await loadManifest(input.app);
  return hostBackupActivities(manifest).listBackups({ manifest });
}
