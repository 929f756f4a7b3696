/** Names and figures shared by the backup workflows and activities. Pure: workflows import this file. */
import type { Manifest } from '../manifest/types';

/** Whether a target's backups are copied off-site (backups.offsite, all targets unless it lists some). */
export function copiedOffsite(manifest: Pick<Manifest, 'backups'>, target: string): boolean {
  const offsite = manifest.backups?.offsite;
  return offsite !== undefined && (offsite.targets === undefined || offsite.targets.includes(target));
}

/**
 * A PostgreSQL database name for a scratch copy: lowercase letters, digits and underscores, at most 63 bytes.
 * With `unique` (the backup's id, the run's id) it ends in a hash of it: two copies made within one second
 * (a scheduled backup and a manual one) must never share a name, as making one drops any database of its name.
 */
export function scratchDatabaseName(
  app: string,
  purpose: 'verify' | 'restore' | 'drill',
  stamp: string,
  unique?: string,
): string {
  const name = `${app}_${purpose}_${stamp}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (unique === undefined) return name.slice(0, 63);
  const suffix = `_${fnv1a(unique)}`;
  return `${name.slice(0, 63 - suffix.length)}${suffix}`;
}

/** 32-bit FNV-1a of a text, as 8 hex digits. Pure. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
