import { isCancellation, log, patched, workflowInfo } from '@temporalio/workflow';
import type { BackupArtifact } from '../activities/backup';
import type { CatalogueEntry } from '../activities/catalogue';
import { copiedOffsite, formatBytes, scratchDatabaseName } from '../common/backup-names';
import type { BackupInput } from '../common/contracts';
import { failure } from '../common/failures';
import { compactTimestamp } from '../common/names';
import type { RunReport } from '../common/progress';
import { backupInputSchema, backupsInputSchema } from '../common/workflow-inputs';
import type { Manifest } from '../manifest/types';
import { activitiesFor, endsAsUnreachable, orchestration, endingOutcome } from './activities';
import { isoNow } from './clock';
import { notifyQuietly } from './notify';
import { validInput } from './input';
import { resetStableIds, runKey } from './ids';
import { logicalTime } from './logical-date';
import { failureMessage, type ProgressTracker } from './progress';
import { beginRun, endRun, loadManifest } from './run';
import { failOnBug } from './run-guard';

/** Off-site copies (backups.offsite) joined the backup after it shipped: runs recorded before them replay without. */
export const OFFSITE_PATCH = 'offsite-copies';
/** So did comparing each new artifact with the recent ones (too small, too fast). */
export const HEALTH_PATCH = 'backup-health';
/** Scratch copies named after the backup, not only its second: runs recorded before keep their names. */
export const UNIQUE_SCRATCH_PATCH = 'unique-scratch-names';

/** A backup's activities, on the app's (first) host: dumps and archives, and the catalogue around them. */
function backupActivities(manifest: Manifest) {
  const host = manifest.hosts[0];
  return {
    artifact: activitiesFor('artifact', { manifest, host }),
    catalogue: activitiesFor('catalogue', { manifest, host }),
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
  /** Why it looks wrong next to the recent backups of its target (much smaller, much faster), when it does. */
  suspect?: string;
  /** The off-site copy, when the target has one: where it is and whether it read back intact. */
  offsite?: { bucket: string; key: string; encrypted: boolean; verified: boolean };
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
  const run = beginRun('backup', input.app);
  const progress = run.progress;
  const unreachableAware = endsAsUnreachable();

  const artifacts: ArtifactSummary[] = [];
  let error: string | undefined;
  let cancelled: unknown;
  try {
    const manifest = await loadManifest(run);
    const targets = chooseTargets(manifest, input.target);
    const host = backupActivities(manifest);
    progress.plan(targets.flatMap((t) => stepNames(manifest, t)));

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
            () => host.catalogue.applyBackupRetention({ manifest, target }),
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
      if (summary.offsite?.verified) {
        await progress
          .run(
            `${target}: off-site retention`,
            () => host.catalogue.applyOffsiteRetention({ manifest: manifest as Manifest, target }),
            (r) => `kept ${r.kept.length}, deleted ${r.deleted.length > 0 ? r.deleted.join(', ') : 'none'}`,
          )
          .catch((e) =>
            log.warn('off-site retention failed; the copies stand', {
              target,
              error: failureMessage(rethrowCancellation(e)),
            }),
          );
      } else if (copiedOffsite(manifest, target)) {
        progress.skip(`${target}: off-site retention`, 'no verified off-site copy was made');
      }
    }
    const suspects = artifacts.filter((a) => a.suspect);
    if (suspects.length > 0) await notifyQuietly(suspectAlert(input.app, suspects), manifest, ['backup.suspect']);
    const failed = artifacts.filter((a) => !a.verified || a.error);
    if (failed.length > 0)
      error =
        failed.map((a) => `${a.target}: ${a.error ?? a.verification}`).join('; ') +
        `; fix the cause and run the backup again (runbook backup ${input.app})`;
  } catch (e) {
    if (isCancellation(e)) cancelled = e;
    error = failureMessage(e);
  }

  const outcome = endingOutcome({ cancelled: Boolean(cancelled), failed: Boolean(error), unreachableAware });
  return endRun(
    run,
    {
      outcome,
      summary: summarize(input.app, artifacts, error),
      ...(error ? { error } : {}),
      details: { logicalDate: logical.toISOString(), artifacts },
    },
    {
      cancellation: cancelled,
      message: `backup of ${input.app} failed: ${error}`,
      // A host without a worker is also a failure to whoever listens for `backup.failed` or `failed`.
      ...(outcome === 'unreachable' ? { events: ['backup.unreachable', 'backup.failed'] } : {}),
    },
  );
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
  const offsite = copiedOffsite(manifest, target);
  return [
    `${target}: ${isDump ? 'dump' : 'archive'}`,
    `${target}: verify`,
    ...(restoreTest ? [`${target}: verify restore`] : []),
    `${target}: compare with recent backups`,
    ...(offsite ? [`${target}: copy off-site`, `${target}: verify off-site copy`] : []),
    `${target}: retention`,
    ...(offsite ? [`${target}: off-site retention`] : []),
  ];
}

async function backUpTarget(
  manifest: Manifest,
  target: string,
  run: { stamp: string; logicalDate: string; progress: ProgressTracker; host: ReturnType<typeof backupActivities> },
): Promise<ArtifactSummary> {
  const { progress, host } = run;
  const info = workflowInfo();
  const [dumpStep, verifyStep] = stepNames(manifest, target);
  const restoreStep = manifest.backups?.verifyRestore?.target === target ? `${target}: verify restore` : undefined;
  let artifact: BackupArtifact;
  try {
    artifact = await progress.run(
      dumpStep,
      () =>
        host.artifact.createBackupArtifact({
          manifest,
          target,
          stamp: run.stamp,
          logicalDate: run.logicalDate,
          workflowId: info.workflowId,
          runId: resetStableIds() ? runKey() : info.runId,
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
        const result = await host.catalogue.verifyBackupArtifact(artifact);
        if (!result.verified) throw failure('VerificationFailed', `verification failed: ${result.detail}`);
        return result;
      },
      (r) => r.detail,
    )
    .catch((e) => ({ verified: false, detail: failureMessage(rethrowCancellation(e)) }));

  let entry: CatalogueEntry = { ...artifact, verified: check.verified, verification: check.detail };
  let problem = check.verified ? undefined : check.detail;
  await host.catalogue.recordBackup({ manifest, entry });

  if (restoreStep) {
    if (!entry.verified) progress.skip(restoreStep, 'the artifact did not verify');
    else {
      const scratchDatabase = patched(UNIQUE_SCRATCH_PATCH)
        ? scratchDatabaseName(manifest.app, 'verify', run.stamp, entry.id)
        : scratchDatabaseName(manifest.app, 'verify', run.stamp);
      const restored = await progress
        .run(
          restoreStep,
          async () => {
            const result = await host.catalogue.verifyBackupRestore({ manifest, entry, scratchDatabase });
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
      await host.catalogue.recordBackup({ manifest, entry });
      if (!restored.verified) problem = restored.detail;
    }
  }

  if (entry.verified && patched(HEALTH_PATCH)) {
    const assessment = await progress
      .run(
        `${target}: compare with recent backups`,
        () => host.catalogue.assessBackup({ manifest, entry }),
        (a) =>
          a.suspect
            ? `SUSPECT: ${a.suspect}`
            : a.medianBytes === undefined
              ? `${a.compared} earlier verified backup(s): too few to compare with yet`
              : `in line with the last ${a.compared} (median ${formatBytes(a.medianBytes)})`,
      )
      .catch((e) => {
        log.warn('could not compare the backup with the recent ones', {
          error: failureMessage(rethrowCancellation(e)),
        });
        return undefined;
      });
    if (assessment?.suspect) {
      entry = { ...entry, suspect: assessment.suspect };
      await host.catalogue.recordBackup({ manifest, entry });
    }
  } else if (!entry.verified) progress.skip(`${target}: compare with recent backups`, 'the artifact did not verify');

  let offsite: ArtifactSummary['offsite'];
  if (copiedOffsite(manifest, target)) {
    if (!entry.verified) {
      progress.skip(`${target}: copy off-site`, 'the artifact did not verify');
      progress.skip(`${target}: verify off-site copy`, 'the artifact did not verify');
    } else if (patched(OFFSITE_PATCH)) {
      const copied = await copyOffsite(manifest, entry, target, run);
      entry = copied.entry;
      if (entry.offsite)
        offsite = {
          bucket: entry.offsite.bucket,
          key: entry.offsite.key,
          encrypted: entry.offsite.encrypted,
          verified: entry.offsite.verified,
        };
      if (copied.error)
        problem = `${copied.error}; the local backup ${entry.id} is verified and kept, and the next run copies again`;
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
    ...(entry.suspect ? { suspect: entry.suspect } : {}),
    ...(offsite ? { offsite } : {}),
    ...(problem ? { error: problem } : {}),
  };
}

/** Uploads a verified artifact to the off-site storage, reads it back, and records the copy in the catalogue. */
async function copyOffsite(
  manifest: Manifest,
  verified: CatalogueEntry,
  target: string,
  run: { progress: ProgressTracker; host: ReturnType<typeof backupActivities> },
): Promise<{ entry: CatalogueEntry; error?: string }> {
  const { progress, host } = run;
  let entry = verified;
  try {
    const copy = await progress.run(
      `${target}: copy off-site`,
      () => host.artifact.copyBackupOffsite({ manifest, entry }),
      (c) => `s3://${c.bucket}/${c.key}: ${formatBytes(c.bytes)}${c.encrypted ? ', age-encrypted' : ''}`,
    );
    entry = { ...entry, offsite: copy };
    await host.catalogue.recordBackup({ manifest, entry });
  } catch (e) {
    progress.skip(`${target}: verify off-site copy`, 'nothing was copied');
    return { entry, error: `off-site copy failed: ${failureMessage(rethrowCancellation(e))}` };
  }
  const copy = entry.offsite as NonNullable<CatalogueEntry['offsite']>;
  const check = await progress
    .run(
      `${target}: verify off-site copy`,
      async () => {
        const result = await host.artifact.verifyOffsiteCopy({ manifest, entry: { ...entry, offsite: copy } });
        if (!result.verified) throw failure('VerificationFailed', result.detail);
        return result;
      },
      (r) => r.detail,
    )
    .catch((e) => ({ verified: false, detail: failureMessage(rethrowCancellation(e)) }));
  entry = { ...entry, offsite: { ...copy, verified: check.verified, verification: check.detail } };
  await host.catalogue.recordBackup({ manifest, entry });
  return check.verified ? { entry } : { entry, error: `off-site copy did not verify: ${check.detail}` };
}

/** The alert for backups that verified but look wrong next to the recent ones (`backup.suspect`). */
function suspectAlert(app: string, suspects: ArtifactSummary[]): RunReport {
  const info = workflowInfo();
  const lines = suspects.map((a) => `${a.target} (${a.id}): ${a.suspect}`);
  return {
    kind: 'backup',
    app,
    outcome: 'failed',
    workflowId: info.workflowId,
    runId: info.runId,
    ...(resetStableIds() ? { originalRunId: runKey() } : {}),
    startedAt: info.runStartTime.toISOString(),
    finishedAt: isoNow(),
    title: `${app}: backup ${suspects.map((a) => a.target).join(', ')} SUSPECT`,
    summary: `backup of ${app} finished and verified, but looks wrong: ${lines.join('; ')}`,
    error:
      `${lines.join('\n')}\n` +
      'The dump or archive exited 0 and read back, yet is far smaller (or faster) than usual: check the command ' +
      '(a pipe without pipefail), the database it reached, and what was deleted. Look inside with ' +
      suspects.map((a) => `runbook restore ${app} --backup ${a.id} --scratch`).join(' or ') +
      '. Retention keeps the newest backup that is not suspect.',
    steps: [],
    details: { artifacts: suspects },
  };
}

function summarize(app: string, artifacts: ArtifactSummary[], error: string | undefined): string {
  const good = artifacts.filter((a) => a.verified);
  const parts = good.map((a) => `${a.target} ${formatBytes(a.bytes ?? 0)}${a.suspect ? ' (SUSPECT)' : ''}`);
  if (!error) return `backup ${app}: ${good.length} verified artifact(s) (${parts.join(', ')})`;
  return `backup ${app} failed: ${good.length} of ${artifacts.length || 'its'} target(s) verified; ${error.split('\n')[0]}`;
}

/** The catalogue of an app, for `runbook backups <app>`; read on the app's host. */
export async function backups(raw: unknown): Promise<CatalogueEntry[]> {
  const input = validInput(backupsInputSchema, raw);
  const manifest = await orchestration.loadManifest(input.app);
  return backupActivities(manifest).catalogue.listBackups({ manifest });
}
