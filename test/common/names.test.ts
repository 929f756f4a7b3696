import path from 'node:path';
import {
  appPaths,
  backupWorkflowId,
  compactTimestamp,
  compareRuns,
  deployDir,
  hostPrefix,
  isName,
  jobWorkflowId,
  joinPath,
  liveDir,
  releaseDir,
  resolveAppPath,
  runUrl,
} from '../../src/common/names';

const releases = { root: '/srv/shop', strategy: 'releases' as const, snapshot: { files: true, exclude: [] } };
const inPlace = { ...releases, root: '/srv/almareia', strategy: 'in-place' as const };

describe('names derived from an app', () => {
  it('joins paths as path.posix.join does, without Node', () => {
    for (const parts of [
      ['/srv/shop', 'releases'],
      ['/srv/shop/', 'releases', 'r1'],
      ['/srv//shop', './current'],
      ['/srv/shop', '../other', 'x'],
      ['/srv/shop', 'logs/../app.log'],
      ['/', '..', 'x'],
      ['relative', '..', '..', 'x'],
    ])
      expect(joinPath(...parts)).toBe(path.posix.join(...parts));
  });

  it("lays out a releases app's files under its root, and an in-place app's state beside it", () => {
    expect(appPaths(releases)).toEqual({
      root: '/srv/shop',
      releasesDir: '/srv/shop/releases',
      current: '/srv/shop/current',
      sharedDir: '/srv/shop/shared',
      stateDir: '/srv/shop/.runbook',
      runDir: '/srv/shop/.runbook/run',
      snapshotsDir: '/srv/shop/.runbook/snapshots',
      archiveDir: '/srv/shop/.runbook/archives',
      deployLog: '/srv/shop/deploy_log.jsonl',
    });
    expect(appPaths({ ...inPlace, root: '/srv/almareia/' }).stateDir).toBe('/srv/almareia.runbook');
    expect(appPaths(inPlace)).toMatchObject({
      deployLog: '/srv/almareia.runbook/deploy_log.jsonl',
      formerDeployLog: '/srv/almareia/deploy_log.jsonl',
    });
    expect(appPaths({ ...inPlace, snapshot: { ...inPlace.snapshot, archiveDir: '/backups' } }).archiveDir).toBe(
      '/backups',
    );
    expect(releaseDir(releases, 'r1')).toBe('/srv/shop/releases/r1');
    expect(deployDir(releases, 'r1')).toBe('/srv/shop/releases/r1');
    expect(deployDir(inPlace, 'r1')).toBe('/srv/almareia');
    expect(liveDir(releases)).toBe('/srv/shop/current');
    expect(liveDir(inPlace)).toBe('/srv/almareia');
    expect(resolveAppPath(releases, 'logs/app.log')).toBe('/srv/shop/current/logs/app.log');
    expect(resolveAppPath(releases, '/var/log/app.log')).toBe('/var/log/app.log');
  });

  it('names hosts, runs and schedules', () => {
    expect(isName('financial-etl')).toBe(true);
    expect(isName('Not_An_App')).toBe(false);
    expect(isName('../etc')).toBe(false);
    expect(hostPrefix({ hosts: ['web-1'] }, 'web-1')).toBe('');
    expect(hostPrefix({ hosts: ['web-1', 'web-2'] }, 'web-2')).toBe('web-2: ');
    expect(backupWorkflowId('shop', 'db', '20250101T000000Z')).toBe('backup-shop-db-20250101T000000Z');
    expect(backupWorkflowId('shop', undefined)).toBe('backup-shop');
    expect(jobWorkflowId('etl', 'daily')).toBe('job-etl-daily');
    expect(compactTimestamp(Date.UTC(2026, 10, 23, 22, 45, 0, 123))).toBe('20261123T224500Z');
    expect(runUrl('http://ui:8233/', 'default', 'deploy-shop', 'r/1')).toBe(
      'http://ui:8233/namespaces/default/workflows/deploy-shop/r%2F1/history',
    );
  });
});

describe('compareRuns', () => {
  it('orders by the second an id begins with, then by when it was made within that second, never by its random end', () => {
    const runs = [
      { id: '20250101T000001Z-00000000', madeAt: 0 },
      { id: '20250101T000000Z-ffffffff', madeAt: 1_000 },
      { id: '20250101T000000Z-00000000', madeAt: 2_000 },
    ];
    expect([...runs].sort(compareRuns).map((r) => r.id)).toEqual([
      '20250101T000000Z-ffffffff',
      '20250101T000000Z-00000000',
      '20250101T000001Z-00000000',
    ]);
  });
});
