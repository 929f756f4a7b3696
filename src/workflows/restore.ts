import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import type { CatalogueEntry } from '../activities/catalogue';
import { scratchDatabaseName } from '../common/backup-names';
import type { RestoreInput } from '../common/contracts';
import { failure } from '../common/failures';
import { appLockWorkflowId, compactTimestamp, hostPrefix } from '../common/names';
import type { RunReport } from '../common/progress';
import { restoreInputSchema } from '../common/workflow-inputs';
import type { Manifest } from '../manifest/types';
import { activitiesFor, endsAsUnreachable, hostActivities, endingOutcome } from './activities';
import { takeAppLock, type HeldLock } from './app-lock';
import { isoNow, workflowNow } from './clock';
import { runHealthChecks } from './health';
import { resetStableIds, runKey } from './ids';
import { validInput } from './input';
import { failureMessage } from './progress';
import { beginRun, endRun, loadManifest } from './run';
import { failOnBug } from './run-guard';
import { Saga } from './saga';

/** Patch id: restores that change live data take the app's lock (workflow id deploy-<app>). */
const RESTORE_TAKES_APP_LOCK = 'restore-takes-app-lock';

/** Fetching a missing artifact from its off-site copy joined the restore after it shipped. */
export const OFFSITE_FETCH_PATCH = 'offsite-fetch';

/** A restore's activities, on the app's (first) host, where its backups are. */
function restoreActivities(manifest: Manifest) {
  const host = manifest.hosts[0];
  // A cancelled restore waits until pg_restore (or the extraction) has stopped before it starts the services
  // again; older runs went on at once and could start them while pg_restore still wrote.
  const waitForCancel = patched('restore-waits-for-cancelled-restore')
    ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
    : {};
  return {
    artifact: activitiesFor('artifact', { manifest, host }, waitForCancel),
    catalogue: activitiesFor('catalogue', { manifest, host }),
  };
}

/** The restore's activities one by one, as a restore drill runs them. */
export function hostRestoreActivities(manifest: Manifest, _guarded = false) {
  const { artifact, catalogue } = restoreActivities(manifest);
  return {
    findBackup: catalogue.findBackup,
    checkBackupChecksum: catalogue.checkBackupChecksum,
    recordRestore: catalogue.recordRestore,
    restoreDatabaseBackup: artifact.restoreDatabaseBackup,
    restoreFilesBackup: artifact.restoreFilesBackup,
    fetchOffsiteCopy: artifact.fetchOffsiteCopy,
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
  const run = beginRun('restore', input.app);
  const progress = run.progress;
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
    manifest = await loadManifest(run);
    // A restore that changes live data holds the app's lock, as a deploy does: never both at once.
    if (!scratch && patched(RESTORE_TAKES_APP_LOCK))
      lock = await progress.run(
        'take the app lock',
        () => takeAppLock(input.app, info.workflowId, `restore ${input.backup}`),
        () => `holding ${appLockWorkflowId(input.app)}`,
      );
    const host = restoreActivities(manifest);
    const found = await progress.run(
      'find backup',
      () => host.catalogue.findBackup({ manifest: manifest as Manifest, backup: input.backup }),
      (e) => `${e.id} (${e.target}, ${e.logicalDate})`,
    );
    entry = found;
    if (found.offsite && patched(OFFSITE_FETCH_PATCH))
      await progress.run(
        'fetch from off-site copy',
        () => host.artifact.fetchOffsiteCopy({ manifest: manifest as Manifest, entry: found }),
        (r) => r.detail,
      );
    await progress.run(
      'verify checksum',
      () => host.catalogue.checkBackupChecksum({ entry: found }),
      (r) => `sha256 ${r.sha256.slice(0, 12)}… as catalogued`,
    );
    if (!scratch && !found.verified)
      throw failure(
        'BackupUnverified',
        `backup ${found.id} did not pass verification (${found.verification ?? 'no details'}); restore it with --scratch to look at it, or pick a verified backup`,
      );

    // Services run on every host of the app; the data lives on the first one.
    const stopStart = !scratch && (manifest.backups?.stopServicesOnRestore ?? true) && manifest.services.length > 0;
    if (stopStart) {
      for (const hostName of [...manifest.hosts].reverse()) {
        const acts = hostActivities(manifest, hostName);
        await progress.run(
          `${hostPrefix(manifest, hostName)}stop services`,
          () => acts.stopServices({ manifest: manifest as Manifest }),
          (m) => m.join('; '),
        );
        saga.add(`${hostPrefix(manifest, hostName)}start services again`, async () => {
          await acts.startServices({ manifest: manifest as Manifest });
        });
      }
    }

    if (found.kind === 'postgres') {
      const scratchDatabase = scratch ? scratchDatabaseName(manifest.app, 'restore', stamp) : undefined;
      const result = await progress.run(
        scratch ? 'restore into a scratch database' : 'restore database',
        () =>
          host.artifact.restoreDatabaseBackup({ manifest: manifest as Manifest, entry: found, scratchDatabase, stamp }),
        (r) => `restored into database ${r.restoredTo}`,
      );
      restoredTo = [result.restoredTo];
    } else {
      const result = await progress.run(
        scratch ? 'restore into a scratch folder' : 'restore files',
        () => host.artifact.restoreFilesBackup({ manifest: manifest as Manifest, entry: found, stamp, scratch }),
        (r) =>
          `restored ${r.restoredTo.join(', ')}${r.replaced.length > 0 ? `; previous kept as ${r.replaced.join(', ')}` : ''}`,
      );
      restoredTo = result.restoredTo;
      replaced = result.replaced;
    }

    if (stopStart) {
      for (const hostName of manifest.hosts) {
        const acts = hostActivities(manifest, hostName);
        const prefix = hostPrefix(manifest, hostName);
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

  const outcome = endingOutcome({ cancelled: Boolean(cancelled), failed: Boolean(error), unreachableAware });
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
    const host = restoreActivities(manifest);
    await CancellationScope.nonCancellable(() =>
      progress.run('record', () => host.catalogue.recordRestore({ manifest: manifest as Manifest, record })),
    ).catch(() => undefined);
  }
  if (lock) await CancellationScope.nonCancellable(() => lock.release());
  return endRun(
    run,
    {
      outcome,
      summary,
      ...(error ? { error } : {}),
      details: { backup: entry?.id ?? input.backup, target: entry?.target, scratch, restoredTo, replaced },
    },
    {
      cancellation: cancelled,
      // A host without a worker is also a failure to whoever listens for `restore.failed` or `failed`.
      ...(outcome === 'unreachable' ? { events: ['restore.unreachable', 'restore.failed'] } : {}),
    },
  );
}
