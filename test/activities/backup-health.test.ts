import { assessBackup, backupFreshness, DEFAULT_BACKUP_ALERTS } from '../../src/activities/backup-health';
import type { CatalogueEntry } from '../../src/activities/catalogue';
import type { Manifest } from '../../src/manifest/types';

const entry = (
  day: number,
  bytes: number,
  durationMs: number,
  extra: Partial<CatalogueEntry> = {},
): CatalogueEntry => ({
  id: `shop-db-202501${String(day).padStart(2, '0')}T050000Z`,
  app: 'shop',
  target: 'db',
  kind: 'postgres',
  format: 'custom',
  file: '/b/x.dump',
  createdAt: `2025-01-${String(day).padStart(2, '0')}T05:10:00.000Z`,
  logicalDate: `2025-01-${String(day).padStart(2, '0')}T05:00:00.000Z`,
  bytes,
  sha256: 'x',
  workflowId: 'w',
  runId: 'r',
  verified: true,
  durationMs,
  ...extra,
});

describe('backups that look wrong next to the recent ones', () => {
  const recent = [entry(1, 50_000_000, 600_000), entry(2, 52_000_000, 620_000), entry(3, 51_000_000, 610_000)];

  it('flags a dump that shrank to nothing, and one that took a tiny fraction of the usual time', () => {
    const empty = assessBackup(entry(4, 20, 30_000), [...recent, entry(4, 20, 30_000)], DEFAULT_BACKUP_ALERTS);
    expect(empty.suspect).toBe(
      '20 B is 100% smaller than the median of the last 3 verified backups (48.6 MB); and it took 30.0s, 5% of the usual 610.0s',
    );
    expect(assessBackup(entry(4, 49_000_000, 580_000), recent, DEFAULT_BACKUP_ALERTS).suspect).toBeUndefined();
  });

  it('does not judge before three verified backups exist', () => {
    expect(assessBackup(entry(4, 1, 1), recent.slice(0, 2), DEFAULT_BACKUP_ALERTS)).toEqual({ compared: 2 });
    expect(assessBackup(entry(4, 1, 1), [], DEFAULT_BACKUP_ALERTS).suspect).toBeUndefined();
  });
});

describe('backup freshness', () => {
  const manifest = {
    app: 'shop',
    backups: { targets: [{ name: 'db' }, { name: 'files' }], alerts: DEFAULT_BACKUP_ALERTS },
    schedules: [{ name: 'nightly', cron: '0 2 * * *', timezone: 'America/Sao_Paulo', run: 'backup', target: 'db' }],
  } as unknown as Manifest;

  it('judges scheduled targets against twice their schedule gap, and names the newest backup', () => {
    const [db] = backupFreshness(manifest, [entry(1, 1, 1)], new Date('2025-01-04T05:10:00Z'), new Date('2025-01-01'));
    expect(db).toMatchObject({
      target: 'db',
      maxAge: '2880m',
      stale: true,
      newest: { id: 'shop-db-20250101T050000Z' },
    });
    expect(db.detail).toContain('finished 72.0h ago');
    const fresh = backupFreshness(manifest, [entry(3, 1, 1)], new Date('2025-01-04T05:10:00Z'), new Date('2025-01-01'));
    expect(fresh.map((f) => [f.target, f.stale])).toEqual([['db', false]]);
  });

  it('alerts a target that never had a verified backup once it has been watched for longer than its limit', () => {
    const withLimit = {
      ...manifest,
      backups: { ...manifest.backups, alerts: { ...DEFAULT_BACKUP_ALERTS, maxAge: '1d' } },
    } as Manifest;
    const now = new Date('2025-01-10T00:00:00Z');
    expect(backupFreshness(withLimit, [], now, new Date('2025-01-09T12:00:00Z')).map((f) => f.stale)).toEqual([
      false,
      false,
    ]);
    expect(backupFreshness(withLimit, [], now, new Date('2025-01-08T00:00:00Z')).map((f) => f.detail)).toEqual([
      'no verified backup of db at all in the 1d it has been watched',
      'no verified backup of files at all in the 1d it has been watched',
    ]);
  });
});
