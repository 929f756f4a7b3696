/*
 * Which backups to keep: pure, so every rule can be tested over a simulated month. Buckets follow the
 * usual "grandfather-father-son" reading: `daily: 7` keeps the newest backup of each of the 7 most recent
 * days that have one; weekly (ISO weeks) and monthly alike; `last: N` keeps the N newest. A backup kept
 * by any rule stays.
 */
import { dateInZone } from '../common/dates';

import type { Manifest } from '../manifest/types';

/** Days and weeks as the team's backup schedule counts them (its time zone), else UTC. */
export function retentionTimeZone(manifest: Pick<Manifest, 'schedules'>): string {
  return manifest.schedules.find((s) => s.run === 'backup')?.timezone ?? 'UTC';
}

export interface RetentionPolicy {
  last?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
}

export interface RetentionItem {
  id: string;
  /** ISO time the backup is for (its logical date). */
  time: string;
  verified: boolean;
  /** Verified, but flagged as much smaller or faster than the recent ones. */
  suspect?: boolean;
}

export interface RetentionPlan {
  keep: Array<{ id: string; reasons: string[] }>;
  delete: Array<{ id: string; reason: string }>;
}

export function planRetention(
  items: readonly RetentionItem[],
  policy: RetentionPolicy,
  options: { timeZone?: string } = {},
): RetentionPlan {
  const timeZone = options.timeZone ?? 'UTC';
  const newestFirst = [...items].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
  const verified = newestFirst.filter((i) => i.verified);
  const reasons = new Map<string, string[]>();
  const keep = (id: string, reason: string) => reasons.set(id, [...(reasons.get(id) ?? []), reason]);

  const noRules =
    policy.last === undefined &&
    policy.daily === undefined &&
    policy.weekly === undefined &&
    policy.monthly === undefined;
  if (noRules) verified.forEach((i) => keep(i.id, 'no retention rules'));

  verified.slice(0, policy.last ?? 0).forEach((i) => keep(i.id, 'last'));
  const buckets: Array<[keyof RetentionPolicy, (date: CalendarDate) => string]> = [
    ['daily', (d) => `${d.year}-${pad(d.month)}-${pad(d.day)}`],
    ['weekly', isoWeek],
    ['monthly', (d) => `${d.year}-${pad(d.month)}`],
  ];
  for (const [rule, bucketOf] of buckets) {
    const count = policy[rule] ?? 0;
    const seen = new Set<string>();
    for (const item of verified) {
      if (seen.size >= count) break;
      const bucket = bucketOf(calendarDate(new Date(item.time), timeZone));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep(item.id, `${rule} ${bucket}`);
    }
  }
  if (verified.length > 0 && !reasons.has(verified[0].id)) keep(verified[0].id, 'newest verified');
  // Suspect backups (a dump that shrank to nothing) must not push the last good one out.
  const trusted = verified.find((i) => !i.suspect);
  if (trusted && !reasons.has(trusted.id)) keep(trusted.id, 'newest verified backup not flagged as suspect');

  const newestVerifiedTime = verified[0]?.time;
  const plan: RetentionPlan = { keep: [], delete: [] };
  for (const item of newestFirst) {
    const why = reasons.get(item.id);
    if (why) plan.keep.push({ id: item.id, reasons: why });
    else if (item.verified) plan.delete.push({ id: item.id, reason: 'outside the retention rules' });
    else if (newestVerifiedTime !== undefined && item.time <= newestVerifiedTime)
      plan.delete.push({ id: item.id, reason: 'unverified, and a newer verified backup exists' });
    else plan.keep.push({ id: item.id, reasons: ['unverified, but no verified backup is newer'] });
  }
  return plan;
}

interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

function calendarDate(instant: Date, timeZone: string): CalendarDate {
  const [year, month, day] = dateInZone(instant, timeZone).split('-').map(Number);
  return { year, month, day };
}

/** ISO 8601 week, e.g. 2025-W01 (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(date: CalendarDate): string {
  const utc = new Date(Date.UTC(date.year, date.month - 1, date.day));
  const weekday = utc.getUTCDay() || 7;
  utc.setUTCDate(utc.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(utc.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((utc.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${utc.getUTCFullYear()}-W${pad(week)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
