/** Names and figures shared by the backup workflows and activities. Pure: workflows import this file. */
import type { Manifest } from '../manifest/types';

/** Whether a target's backups are copied off-site (backups.offsite, all targets unless it lists some). */
export function copiedOffsite(manifest: Pick<Manifest, 'backups'>, target: string): boolean {
  const offsite = manifest.backups?.offsite;
  return offsite !== undefined && (offsite.targets === undefined || offsite.targets.includes(target));
}

/** A PostgreSQL database name for a scratch copy: lowercase letters, digits and underscores, at most 63 bytes. */
export function scratchDatabaseName(app: string, purpose: 'verify' | 'restore' | 'drill', stamp: string): string {
  return `${app}_${purpose}_${stamp}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
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
