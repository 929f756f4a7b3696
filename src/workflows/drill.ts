import {
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { failure } from '../common/failures';
import type { Activities } from '../activities';
import type { CatalogueEntry, DrillRecord } from '../activities/catalogue';
import type { DrillEvidence } from '../activities/drill';
import { formatBytes, scratchDatabaseName } from '../common/backup-names';
import { UNIQUE_SCRATCH_PATCH } from './backup';
import type { DrillInput } from '../common/contracts';
import { durationMs } from '../common/duration';
import { compactTimestamp } from '../common/names';
import type { Outcome, RunReport } from '../common/progress';
import type { Manifest } from '../manifest/types';
import { ACTIVITY_HEARTBEAT_TIMEOUT } from '../common/activity-options';
import { hostQueue } from './activities';
import { isoNow, workflowNow } from './clock';
import { runKey } from './ids';
import { runReport } from './report';
import { failureMessage, ProgressTracker } from './progress';
import { hostRestoreActivities } from './restore';
import { failOnBug } from './run-guard';
import { drillInputSchema, parseInput } from '../common/workflow-inputs';
import { recordEnding } from './run';
import { ACTION, APP } from '../common/search-attributes';

const { loadManifest } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
  retry: { maximumAttempts: 3 },
});

function hostDrillActivities(manifest: Manifest) {
  return proxyActivities<Activities>({
    ...hostQueue(manifest, manifest.hosts[0]),
    startToCloseTimeout: '2h',
    heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
    retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
  });
}

export interface DrillResult {
  target: string;
  backup?: string;
  outcome: 'succeeded' | 'failed';
  rtoMs?: number;
  evidence?: DrillEvidence;
  error?: string;
}

/**
 * A restore drill: for each target (the manifest's backups.drill.targets, or all), restores the newest
 * verified backup into a throwaway database or folder (fetching it from its off-site copy when the local file
 * is gone), runs the manifest's sanity queries and counts the rows or files that came back, drops the copy,
 * and records the time it took (RTO) and what it saw in the catalogue. A drill that fails alerts
 * (`drill.failed`) and fails the run.
 */
export async function drill(raw: DrillInput): Promise<RunReport> {
  const input = parseInput(drillInputSchema, raw, 'drill');
  return failOnBug('drill', input.app, () => drillApp(input));
}

async function drillApp(input: DrillInput): Promise<RunReport> {
  // Names on disk (the scratch copy) and the record's run id survive a Temporal reset, as restores' do.
  const stamp = compactTimestamp(workflowInfo().startTime.getTime());
  const progress = new ProgressTracker('drill', input.app);
  upsertSearchAttributes([
    { key: APP, value: input.app },
    { key: ACTION, value: 'drill' },
  ]);

  let manifest: Manifest | undefined;
  const results: DrillResult[] = [];
  let error: string | undefined;
  let cancelled: unknown;
  try {
    manifest = await progress.run('load manifest', () => loadManifest(input.app));
    const targets = drillTargets(manifest, input.target);
    progress.plan(targets.flatMap(stepNames));
    for (const target of targets) results.push(await drillTarget(manifest, target, stamp, progress));
    const failed = results.filter((r) => r.outcome === 'failed');
    if (failed.length > 0) error = failed.map((r) => `${r.target}: ${r.error}`).join('; ');
  } catch (e) {
    if (isCancellation(e)) cancelled = e;
    error = failureMessage(e);
  }

  const outcome: Outcome = cancelled ? 'cancelled' : error ? 'failed' : 'succeeded';
  const report: RunReport = runReport(progress, {
    outcome,
    summary: summarize(input.app, results, error),
    ...(error
      ? { error: `${error}\nThe backups above did not prove they restore: look at them before you need them.` }
      : {}),
    details: { drills: results },
  });
  progress.state = outcome;
  await recordEnding(report, manifest);
  if (cancelled) throw cancelled;
  if (error) throw failure('DrillFailed', report.summary, { details: [report] });
  return report;
}

function drillTargets(manifest: Manifest, target: string | undefined): string[] {
  const names = manifest.backups?.targets.map((t) => t.name) ?? [];
  if (names.length === 0)
    throw failure('BackupConfig', `${manifest.app}'s manifest has no backups.targets: nothing to drill`);
  if (target === undefined) return manifest.backups?.drill?.targets ?? names;
  if (!names.includes(target))
    throw failure(
      'BadInput',
      `drill input: target: no backup target '${target}' in ${manifest.app}'s manifest; known targets: ${names.join(', ')}`,
    );
  return [target];
}

function stepNames(target: string): string[] {
  return [
    `${target}: pick newest backup`,
    `${target}: verify checksum`,
    `${target}: restore into a scratch copy`,
    `${target}: check the restored copy`,
    `${target}: drop the scratch copy`,
    `${target}: record`,
  ];
}

async function drillTarget(
  manifest: Manifest,
  target: string,
  stamp: string,
  progress: ProgressTracker,
): Promise<DrillResult> {
  const info = workflowInfo();
  const host = hostDrillActivities(manifest);
  const restoring = hostRestoreActivities(manifest, false);
  const startedAt = isoNow();
  let entry: CatalogueEntry | undefined;
  let restoredTo: string | undefined;
  let evidence: DrillEvidence | undefined;
  let rtoMs: number | undefined;
  let error: string | undefined;
  try {
    const found = await progress.run(
      `${target}: pick newest backup`,
      () => host.newestVerifiedBackup({ manifest, target }),
      (e) => `${e.id} (${formatBytes(e.bytes)}, ${e.logicalDate})`,
    );
    entry = found;
    const clock = workflowNow();
    if (found.offsite)
      await progress.run(
        `${target}: fetch from off-site copy`,
        () => restoring.fetchOffsiteCopy({ manifest, entry: found }),
        (r) => r.detail,
      );
    await progress.run(
      `${target}: verify checksum`,
      () => restoring.checkBackupChecksum({ entry: found }),
      (r) => `sha256 ${r.sha256.slice(0, 12)}… as catalogued`,
    );
    if (found.kind === 'postgres') {
      // a drill run by hand in the same second as the scheduled one must not drop its copy
      const scratchDatabase = patched(UNIQUE_SCRATCH_PATCH)
        ? scratchDatabaseName(`${manifest.app}-${target}`, 'drill', stamp, workflowInfo().workflowId)
        : scratchDatabaseName(`${manifest.app}-${target}`, 'drill', stamp);
      restoredTo = scratchDatabase;
      await progress.run(
        `${target}: restore into a scratch copy`,
        () => restoring.restoreDatabaseBackup({ manifest, entry: found, scratchDatabase, stamp }),
        (r) => `database ${r.restoredTo}`,
      );
    } else {
      const restored = await progress.run(
        `${target}: restore into a scratch copy`,
        () => restoring.restoreFilesBackup({ manifest, entry: found, stamp, scratch: true }),
        (r) => `folder ${r.restoredTo.join(', ')}`,
      );
      restoredTo = restored.restoredTo[0];
    }
    const copy = restoredTo;
    evidence = await progress.run(
      `${target}: check the restored copy`,
      async () => {
        const seen = await host.collectDrillEvidence({ manifest, entry: found, restoredTo: copy });
        // A failed check is recorded with what the copy held: the counts say how far off it is.
        evidence = seen;
        const failed = seen.queries.filter((q) => !q.ok);
        if (failed.length > 0)
          throw failure(
            'DrillCheckFailed',
            `sanity ${failed.length === 1 ? 'query' : 'queries'} on the restored copy: ${failed.map((q) => `${q.query} ${q.detail}`).join('; ')}`,
          );
        return seen;
      },
      describeEvidence,
    );
    rtoMs = workflowNow() - clock;
    const maxRto = manifest.backups?.drill?.maxRto;
    if (maxRto && rtoMs > durationMs(maxRto))
      error = `the restore took ${seconds(rtoMs)}, more than backups.drill.maxRto (${maxRto})`;
  } catch (e) {
    if (isCancellation(e)) throw e;
    error = failureMessage(e);
  } finally {
    const copy = restoredTo;
    const found = entry;
    if (copy !== undefined && found !== undefined)
      await CancellationScope.nonCancellable(() =>
        progress.run(`${target}: drop the scratch copy`, () =>
          host.dropDrillCopy({ manifest, entry: found, restoredTo: copy }),
        ),
      ).catch(() => undefined);
    else progress.skip(`${target}: drop the scratch copy`, 'nothing was restored');
  }

  const outcome = error ? 'failed' : 'succeeded';
  if (entry) {
    const record: DrillRecord = {
      backup: entry.id,
      app: manifest.app,
      target,
      workflowId: info.workflowId,
      runId: runKey(),
      startedAt,
      finishedAt: isoNow(),
      ...(rtoMs !== undefined ? { rtoMs } : {}),
      outcome,
      ...(error ? { error } : {}),
      ...(evidence?.rows ? { rows: evidence.rows } : {}),
      ...(evidence?.files ? { files: evidence.files } : {}),
      ...(evidence ? { queries: evidence.queries } : {}),
    };
    await CancellationScope.nonCancellable(() =>
      progress.run(
        `${target}: record`,
        () => host.recordDrill({ manifest, record }),
        () => `${outcome}${rtoMs !== undefined ? `, RTO ${seconds(rtoMs)}` : ''}`,
      ),
    ).catch(() => undefined);
  } else progress.skip(`${target}: record`, 'no backup to drill');
  return {
    target,
    ...(entry ? { backup: entry.id } : {}),
    outcome,
    ...(rtoMs !== undefined ? { rtoMs } : {}),
    ...(evidence ? { evidence } : {}),
    ...(error ? { error } : {}),
  };
}

function describeEvidence(evidence: DrillEvidence): string {
  const parts: string[] = [];
  if (evidence.rows) {
    const tables = Object.entries(evidence.rows);
    parts.push(
      `${tables.length} table(s), ${tables.reduce((sum, [, n]) => sum + n, 0)} row(s): ${tables
        .slice(0, 5)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ')}${tables.length > 5 ? ', …' : ''}`,
    );
  }
  if (evidence.files) parts.push(`${evidence.files.count} file(s), ${formatBytes(evidence.files.bytes)}`);
  if (evidence.queries.length > 0) parts.push(`${evidence.queries.length} sanity query(ies) passed`);
  return parts.join('; ');
}

function summarize(app: string, results: DrillResult[], error: string | undefined): string {
  const parts = results.map(
    (r) =>
      `${r.target} ${r.outcome === 'succeeded' ? 'restored' : 'FAILED'}${r.rtoMs !== undefined ? ` in ${seconds(r.rtoMs)}` : ''}`,
  );
  if (!error) return `drill ${app}: ${parts.join(', ')}`;
  return `drill ${app} FAILED: ${parts.length > 0 ? `${parts.join(', ')}; ` : ''}${error.split('\n')[0]}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
