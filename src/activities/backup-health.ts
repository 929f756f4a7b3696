import { CronExpressionParser } from 'cron-parser';
import { formatBytes } from '../common/backup-names';
import { durationMs } from '../common/duration';
import type { Manifest } from '../manifest/types';
import type { BackupFigures, CatalogueEntry } from './catalogue';

/*
 * Whether backups can be trusted beyond "the tool exited 0": a new artifact much smaller or much faster than
 * the recent ones is suspect, and a target whose newest verified backup is too old is stale. Pure functions
 * over the catalogue, so each rule is tested on its own.
 */

export type BackupAlertRules = NonNullable<Manifest['backups']>['alerts'];

export const DEFAULT_BACKUP_ALERTS: BackupAlertRules = { maxShrink: 0.5, minDurationShare: 0.1, compareWith: 7 };

/** At least this many earlier verified backups make a median worth comparing with. */
const MIN_COMPARED = 3;
/** Durations this short vary too much to judge speed by. */
const MIN_MEDIAN_DURATION_MS = 5_000;

export interface BackupAssessment {
  /** Why the artifact looks wrong, when it does. */
  suspect?: string;
  /** How many recent verified backups it was compared with. */
  compared: number;
  medianBytes?: number;
  medianDurationMs?: number;
}

/** Compares `entry` with the figures of the earlier verified backups of its target (`history`). */
export function assessBackup(
  entry: CatalogueEntry,
  history: readonly BackupFigures[],
  rules: BackupAlertRules,
): BackupAssessment {
  const recent = history
    .filter((e) => e.app === entry.app && e.target === entry.target && e.id !== entry.id)
    .sort((a, b) => b.logicalDate.localeCompare(a.logicalDate) || b.createdAt.localeCompare(a.createdAt))
    .slice(0, rules.compareWith);
  if (recent.length < MIN_COMPARED) return { compared: recent.length };
  const medianBytes = median(recent.map((e) => e.bytes));
  const durations = recent.map((e) => e.durationMs).filter((d): d is number => d !== undefined);
  const medianDurationMs = durations.length >= MIN_COMPARED ? median(durations) : undefined;
  const facts = { compared: recent.length, medianBytes, ...(medianDurationMs ? { medianDurationMs } : {}) };

  const problems: string[] = [];
  if (entry.bytes < medianBytes * (1 - rules.maxShrink))
    problems.push(
      `${formatBytes(entry.bytes)} is ${percent(1 - entry.bytes / medianBytes)} smaller than the median of the last ${recent.length} verified backups (${formatBytes(medianBytes)})`,
    );
  if (
    medianDurationMs !== undefined &&
    medianDurationMs >= MIN_MEDIAN_DURATION_MS &&
    entry.durationMs !== undefined &&
    entry.durationMs < medianDurationMs * rules.minDurationShare
  )
    problems.push(
      `it took ${seconds(entry.durationMs)}, ${percent(entry.durationMs / medianDurationMs)} of the usual ${seconds(medianDurationMs)}`,
    );
  return problems.length > 0 ? { ...facts, suspect: problems.join('; and ') } : facts;
}

export interface TargetFreshness {
  target: string;
  /** The newest verified backup (the time it finished). */
  newest?: { id: string; createdAt: string };
  maxAge: string;
  /** Older than maxAge (or none at all for longer than that while watched). */
  stale: boolean;
  detail: string;
}

/**
 * Each target's freshness: its newest verified backup against its `maxAge` (the manifest's, else twice the
 * longest gap between its scheduled backups; a target that is neither given one nor scheduled is not judged).
 */
export function backupFreshness(
  manifest: Manifest,
  catalogue: readonly CatalogueEntry[],
  now: Date,
  watchingSince: Date,
): TargetFreshness[] {
  const out: TargetFreshness[] = [];
  for (const target of manifest.backups?.targets ?? []) {
    const maxAge = manifest.backups?.alerts.maxAge ?? scheduledMaxAge(manifest, target.name);
    if (!maxAge) continue;
    const limit = durationMs(maxAge);
    const newest = catalogue
      .filter((e) => e.app === manifest.app && e.target === target.name && e.verified)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    if (!newest) {
      const stale = now.getTime() - watchingSince.getTime() > limit;
      out.push({
        target: target.name,
        maxAge,
        stale,
        detail: `no verified backup of ${target.name} at all${stale ? ` in the ${maxAge} it has been watched` : ''}`,
      });
      continue;
    }
    const age = now.getTime() - Date.parse(newest.createdAt);
    out.push({
      target: target.name,
      newest: { id: newest.id, createdAt: newest.createdAt },
      maxAge,
      stale: age > limit,
      detail: `the newest verified backup of ${target.name}, ${newest.id}, finished ${hours(age)} ago (at ${newest.createdAt}); the limit is ${maxAge}`,
    });
  }
  return out;
}

/** Twice the longest gap between the next scheduled backups of a target, as a duration (`50h`). */
function scheduledMaxAge(manifest: Manifest, target: string): string | undefined {
  const schedules = manifest.schedules.filter((s) => s.run === 'backup' && (!s.target || s.target === target));
  let longest = 0;
  for (const schedule of schedules) {
    const times = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: new Date() });
    let previous = times.next().getTime();
    for (let i = 0; i < 8; i++) {
      const next = times.next().getTime();
      longest = Math.max(longest, next - previous);
      previous = next;
    }
  }
  return longest > 0 ? `${Math.ceil((2 * longest) / 60_000)}m` : undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function hours(ms: number): string {
  return ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)}h` : `${Math.round(ms / 60_000)}m`;
}
