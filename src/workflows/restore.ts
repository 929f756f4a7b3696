import {
  ActivityCancellationType,
  ApplicationFailure,
  type ActivityOptions,
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CatalogueEntry } from '../activities/catalogue';
import { scratchDatabaseName } from '../common/backup-names';
import {
  ACTIVITY_HEARTBEAT_TIMEOUT,
  endsAsUnreachable,
  hostActivities,
  hostActivitiesWith,
  hostQueue,
  outcomeOfError,
} from './activities';
import { appLockWorkflowId, type RestoreInput } from '../common/contracts';
import { restoreInputSchema } from '../common/workflow-inputs';
import type { Outcome, RunReport } from '../common/progress';
import type { Manifest } from '../manifest/types';
import { finishRun } from './backup';
import { compactTimestamp } from '../common/names';
import { isoNow, workflowNow } from './clock';
import { runHealthChecks } from './health';
import { resetStableIds, runKey } from './ids';
import { validInput } from './input';
import { runReport } from './report';
import { failOnBug } from './run-guard';
import { failureMessage, ProgressTracker } from './progress';
import { Saga } from './saga';
import { takeAppLock, type HeldLock } from './app-lock';

/** Patch id: restores that change live data take the app's lock (workflow id deploy-<app>). */
const RESTORE_TAKES_APP_LOCK = 'restore-takes-app-lock';
import { tagRun } from './search-attributes';

const { loadManifest } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
  retry: { maximumAttempts: 3 },
});

const NON_RETRYABLE = [
  'BackupConfig',
  'MissingEnvironment',
  'BadDatabaseUrl',
  'BackupNotFound',
  'BackupMissing',
  'ChecksumMismatch',
  'RestoreConflict',
  'OffsiteConfig',
  'OffsiteCopyMissing',
  'DecryptionFailed',
];

/** Fetching a missing artifact from its off-site copy joined the restore after it shipped. */
export const OFFSITE_FETCH_PATCH = 'offsite-fetch';

/** `guarded` (runs since UNREACHABLE_OUTCOME): once the host proved unreachable, the later ones fail at once. */
export function hostRestoreActivities(manifest: Manifest, guarded: boolean) {
  const host = manifest.hosts[0];
  const proxy = (options: Omit<ActivityOptions, 'taskQueue' | 'scheduleToStartTimeout'>) =>
    guarded
      ? hostActivitiesWith(manifest, host, options)
      : proxyActivities<Activities>({ ...hostQueue(manifest, host), ...options });
  const restoring = proxy({
    startToCloseTimeout: '12h',
    heartbeatTimeout: '10s',
    // A cancelled restore waits until pg_restore (or the extraction) has stopped before it starts the services
    // again; older runs went on at once and could start them while pg_restore still wrote.
    ...(patched('restore-waits-for-cancelled-restore')
      ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
      : {}),
    retry: { maximumAttempts: 3, initialInterval: '2s', backoffCoefficient: 2, nonRetryableErrorTypes: NON_RETRYABLE },
  });
  const quick = proxy({
    startToCloseTimeout: '1h',
    heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
    retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, nonRetryableErrorTypes: NON_RETRYABLE },
  });
  return {
    findBackup: quick.findBackup,
    checkBackupChecksum: quick.checkBackupChecksum,
    recordRestore: quick.recordRestore,
    restoreDatabaseBackup: restoring.restoreDatabaseBackup,
    restoreFilesBackup: restoring.restoreFilesBackup,
    fetchOffsiteCopy: restoring.fetchOffsiteCopy,
  };
}

/**
 * Restores one catalogued backup, named explicitly: checks its checksum, stops the app's services when the
 * manifest says so, restores the database (pg_restore --clean --if-exists, one transaction) or puts the
 * folders back (keeping what they replace as `<path>_replaced_<time>`), starts the services, checks health
 * and records the outcome in the catalogue. `scratch` restores into a new database or folder instead and
 * touches nothing else.
 */
export async function restore(raw: unknown): Promise<RunReport> {
  const input = validInput(restoreInputSchema, raw) as RestoreInput;
  return failOnBug('restore', input.app, () => restoreBackup(input));
}

async function restoreBackup(input: RestoreInput): Promise<RunReport> {
  const info = workflowInfo();
  const stamp = compactTimestamp(resetStableIds() ? info.startTime.getTime() : workflowNow());
  const scratch = input.scratch === true;
  const progress = new ProgressTracker('restore', input.app);
  tagRun(input.app, 'restore');
  const unreachableAware = endsAsUnreachable();

  let manifest: Manifest | undefined;
  let entry: CatalogueEntry | undefined;
  let restoredTo: string[] = [];
  let replaced: string[] = [];
  let error: string | undefined;
  let cancelled: unknown;
  const saga = new Saga();
  let lock: HeldLock | undefined;
  try {
    manifest = await progress.run('load manifest', () => loadManifest(input.app));
    // A restore that changes live data holds the app's lock, as a deploy does: never both at once.
    if (!scratch && patched(RESTORE_TAKES_APP_LOCK))
      lock = await progress.run(
        'take the app lock',
        () => takeAppLock(input.app, info.workflowId, `restore ${input.backup}`),
        () => `holding ${appLockWorkflowId(input.app)}`,
      );
    const host = hostRestoreActivities(manifest, unreachableAware);
    const found = await progress.run(
      'find backup',
      () => host.findBackup({ manifest: manifest as Manifest, backup: input.backup }),
      (e) => `${e.id} (${e.target}, ${e.logicalDate})`,
    );
    entry = found;
    if (found.offsite && patched(OFFSITE_FETCH_PATCH))
      await progress.run(
        'fetch from off-site copy',
        () => host.fetchOffsiteCopy({ manifest: manifest as Manifest, entry: found }),
        (r) => r.detail,
      );
    await progress.run(
      'verify checksum',
      () => host.checkBackupChecksum({ entry: found }),
      (r) => `sha256 ${r.sha256.slice(0, 12)}… as catalogued`,
    );
    if (!scratch && !found.verified)
      throw ApplicationFailure.nonRetryable(
        `backup ${found.id} did not pass verification (${found.verification ?? 'no details'}); restore it with --scratch to look at it, or pick a verified backup`,
        'BackupUnverified',
      );

    // Services run on every host of the app; the data lives on the first one.
    const stopStart = !scratch && (manifest.backups?.stopServicesOnRestore ?? true) && manifest.services.length > 0;
    if (stopStart) {
      for (const hostName of [...manifest.hosts].reverse()) {
        const acts = hostActivities(manifest, hostName);
        await progress.run(
          `${prefixOf(manifest, hostName)}stop services`,
          () => acts.stopServices({ manifest: manifest as Manifest }),
          (m) => m.join('; '),
        );
        saga.add(`${prefixOf(manifest, hostName)}start services again`, async () => {
          await acts.startServices({ manifest: manifest as Manifest });
        });
      }
    }

    if (found.kind === 'postgres') {
      const scratchDatabase = scratch ? scratchDatabaseName(manifest.app, 'restore', stamp) : undefined;
      const result = await progress.run(
        scratch ? 'restore into a scratch database' : 'restore database',
        () => host.restoreDatabaseBackup({ manifest: manifest as Manifest, entry: found, scratchDatabase, stamp }),
        (r) => `restored into database ${r.restoredTo}`,
      );
      restoredTo = [result.restoredTo];
    } else {
      const result = await progress.run(
        scratch ? 'restore into a scratch folder' : 'restore files',
        () => host.restoreFilesBackup({ manifest: manifest as Manifest, entry: found, stamp, scratch }),
        (r) =>
          `restored ${r.restoredTo.join(', ')}${r.replaced.length > 0 ? `; previous kept as ${r.replaced.join(', ')}` : ''}`,
      );
      restoredTo = result.restoredTo;
      replaced = result.replaced;
    }

    if (stopStart) {
      for (const hostName of manifest.hosts) {
        const acts = hostActivities(manifest, hostName);
        const prefix = prefixOf(manifest, hostName);
        const offsets = await acts.captureLogOffsets({ manifest });
        await progress.run(
          `${prefix}start services`,
          () => acts.startServices({ manifest: manifest as Manifest }),
          (m) => m.join('; '),
        );
        await runHealthChecks(acts, manifest, offsets, (name, fn) => progress.run(`${prefix}health: ${name}`, fn));
      }
    } else if (!scratch && manifest.services.length > 0) {
      progress.skip('stop/start services', 'backups.stopServicesOnRestore is false');
    }
  } catch (e) {
    if (isCancellation(e)) cancelled = e;
    error = failureMessage(e);
    if (saga.size > 0 && restoredTo.length === 0) await saga.compensate(progress);
  }

  const outcome: Outcome = cancelled
    ? 'cancelled'
    : error
      ? unreachableAware
        ? outcomeOfError()
        : 'failed'
      : 'succeeded';
  const where = scratch ? 'scratch copy ' : '';
  const summary = error
    ? `restore ${input.app} from ${input.backup} failed: ${error.split('\n')[0]}`
    : `restore ${input.app} from ${entry?.id}: ${where}${restoredTo.join(', ')}${replaced.length > 0 ? ` (previous kept as ${replaced.join(', ')})` : ''}`;
  if (manifest && entry) {
    const record = {
      backup: entry.id,
      app: input.app,
      target: entry.target,
      workflowId: info.workflowId,
      runId: resetStableIds() ? runKey() : info.runId,
      scratch,
      restoredTo,
      replaced,
      outcome: error ? ('failed' as const) : ('succeeded' as const),
      ...(error ? { error } : {}),
      finishedAt: isoNow(),
    };
    const host = hostRestoreActivities(manifest, unreachableAware);
    await CancellationScope.nonCancellable(() =>
      progress.run('record', () => host.recordRestore({ manifest: manifest as Manifest, record })),
    ).catch(() => undefined);
  }
  if (lock) await CancellationScope.nonCancellable(() => lock.release());
  const report: RunReport = runReport(progress, {
    outcome,
    summary,
    ...(error ? { error } : {}),
    details: { backup: entry?.id ?? input.backup, target: entry?.target, scratch, restoredTo, replaced },
  });
  progress.state = outcome;
  await finishRun(report, manifest);
  if (cancelled) throw cancelled;
  if (error)
    throw ApplicationFailure.create({
      message: summary,
      type: outcome === 'unreachable' ? 'RestoreUnreachable' : 'RestoreFailed',
      nonRetryable: true,
      details: [report],
    });
  return report;
}

function prefixOf(manifest: Manifest, host: string): string {
  return manifest.hosts.length > 1 ? `${host}: ` : '';
}
