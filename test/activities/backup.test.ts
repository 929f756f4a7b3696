import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../src/activities';
import { backupActivities } from '../../src/activities/backup';
import { sha256Path } from '../../src/activities/checksum';
import type { CatalogueEntry } from '../../src/activities/catalogue';
import type { Manifest } from '../../src/manifest/types';
import { createBackupApp, loadAppManifest, readCatalogueFile, type BackupApp } from '../support/backup-app';
import { uniqueName } from '../support/temporal';

/** The activities as a worker runs them, called directly (with an activity context for heartbeats). */
describe('backup activities on real files and a real PostgreSQL', () => {
  let shop: BackupApp;
  let manifest: Manifest;
  let activities: ReturnType<typeof backupActivities>;
  const run = <T>(fn: () => Promise<T>) => new MockActivityEnvironment().run(fn) as Promise<T>;

  beforeAll(async () => {
    shop = await createBackupApp({ prefix: 'acts' });
    manifest = loadAppManifest(shop);
    activities = backupActivities({
      ...activityConfigFromEnv(),
      manifestsDir: shop.manifestsDir,
      env: { ...process.env, ...shop.env },
    });
  });
  afterAll(() => rmSync(shop.root, { recursive: true, force: true }));
  beforeEach(() => rmSync(shop.backupsDir, { recursive: true, force: true }));

  const request = (target: string, stamp: string) => ({
    manifest,
    target,
    stamp,
    logicalDate: new Date().toISOString(),
    workflowId: uniqueName('wf'),
    runId: uniqueName('run'),
  });

  it.each([
    ['db', 'a dump cut short'],
    ['uploads', 'an archive cut short'],
  ])('a corrupted artifact (%s: %s) fails verification and is not catalogued as good', async (target) => {
    const artifact = await run(() => activities.createBackupArtifact(request(target, '20250301T040000Z')));
    expect(await activities.verifyBackupArtifact(artifact)).toMatchObject({ verified: true });

    // Corrupted on disk after it was written: the checksum no longer matches.
    const bytes = readFileSync(artifact.file);
    writeFileSync(artifact.file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const changed = await activities.verifyBackupArtifact(artifact);
    expect(changed.verified).toBe(false);
    expect(changed.detail).toMatch(/the file is corrupt/);

    // Corrupted before its checksum was taken (a tool that wrote garbage): reading it back fails.
    const unreadable = await activities.verifyBackupArtifact({ ...artifact, sha256: await sha256Path(artifact.file) });
    expect(unreadable.verified).toBe(false);
    expect(unreadable.detail).toMatch(
      target === 'db' ? /pg_restore .* exited with status 1/ : /not a readable zip archive/,
    );

    // The workflow records it as it verified: not good, so a restore refuses it and retention ignores it.
    await activities.recordBackup({
      manifest,
      entry: { ...artifact, verified: false, verification: unreadable.detail },
    });
    const [entry] = await activities.listBackups({ manifest });
    expect(entry).toMatchObject({ id: artifact.id, verified: false });
    const retention = await activities.applyBackupRetention({ manifest, target });
    expect(retention.kept).toEqual([artifact.id]);
    expect(retention.plan.keep[0].reasons).toEqual(['unverified, but no verified backup is newer']);
  });

  it('reuses a finished artifact of an earlier attempt and removes partial files of crashed ones', async () => {
    const first = await run(() => activities.createBackupArtifact(request('db', '20250302T040000Z')));
    writeFileSync(`${first.file}.partial-1234-abcd`, 'half a dump');
    const again = await run(() =>
      activities.createBackupArtifact({
        ...request('db', '20250302T040000Z'),
        workflowId: first.workflowId,
        runId: first.runId,
      }),
    );
    expect(again).toMatchObject({ id: first.id, file: first.file, sha256: first.sha256, bytes: first.bytes });
    expect(readdirSync(shop.backupsDir)).toEqual([path.basename(first.file)]);
  });

  it('a target naming a schema the database lacks fails at once, non-retryably, naming it, with nothing written', async () => {
    const db = manifest.backups!.targets.find((t) => t.name === 'db')!;
    const misnamed = {
      ...manifest,
      backups: {
        ...manifest.backups!,
        targets: [{ ...db, postgres: { ...(db as { postgres: object }).postgres, schemas: ['public', 'audti'] } }],
      },
    } as Manifest;
    const failure = await run(() =>
      activities.createBackupArtifact({ ...request('db', '20250304T040000Z'), manifest: misnamed }),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ nonRetryable: true, type: 'BackupConfig' });
    expect((failure as Error).message).toMatch(
      /backup target 'db': no schema of the database matches 'audti'.*backups\.targets\[\]\.postgres\.schemas/,
    );
    expect(existsSync(shop.backupsDir) ? readdirSync(shop.backupsDir) : []).toEqual([]);
  });

  it('names the artifact of a second run for the same time apart from the first', async () => {
    const first = await run(() => activities.createBackupArtifact(request('uploads', '20250303T040000Z')));
    await activities.recordBackup({ manifest, entry: { ...first, verified: true } });
    const second = await run(() => activities.createBackupArtifact(request('uploads', '20250303T040000Z')));
    expect(second.id).toBe(`${first.id}-${second.runId.replace(/-/g, '').slice(-8)}`);
    expect(existsSync(first.file)).toBe(true);
  });

  it('never gives a later run for the same time the id of an artifact retention already removed', async () => {
    const keepOne: Manifest = {
      ...manifest,
      backups: { ...(manifest.backups as NonNullable<Manifest['backups']>), keep: { last: 1 } },
    };
    const backUp = async () => {
      const artifact = await run(() =>
        activities.createBackupArtifact({ ...request('uploads', '20250305T040000Z'), manifest: keepOne }),
      );
      await activities.recordBackup({ manifest: keepOne, entry: { ...artifact, verified: true } });
      await activities.applyBackupRetention({ manifest: keepOne, target: 'uploads' });
      return artifact;
    };
    // Three runs within one second (the stamp has no finer unit): the first's entry is gone by the third.
    const ids = [(await backUp()).id, (await backUp()).id, (await backUp()).id];
    expect(new Set(ids).size).toBe(3);
    const history = readCatalogueFile(shop).history.filter((h) => h.target === 'uploads');
    expect(history.map((h) => h.id)).toEqual(ids);
  });

  it('applies retention over a simulated month: exactly the right files and entries remain', async () => {
    const monthly: Manifest = {
      ...manifest,
      backups: {
        ...(manifest.backups as NonNullable<Manifest['backups']>),
        keep: { last: 3, daily: 7, weekly: 4, monthly: 3 },
      },
    };
    const start = Date.parse('2025-01-01T04:00:00Z');
    for (let day = 0; day < 32; day++) {
      const time = new Date(start + day * 86_400_000);
      const id = `${shop.app}-db-${time.toISOString().slice(0, 10)}`;
      const file = path.join(shop.backupsDir, `${id}.dump`);
      const verified = time.toISOString().slice(0, 10) !== '2025-01-15';
      const entry: CatalogueEntry = {
        id,
        app: shop.app,
        target: 'db',
        kind: 'postgres',
        format: 'custom',
        file,
        createdAt: time.toISOString(),
        logicalDate: time.toISOString(),
        bytes: 4,
        sha256: 'x'.repeat(64),
        workflowId: `wf-${day}`,
        runId: `run-${day}`,
        verified,
      };
      mkdirSync(shop.backupsDir, { recursive: true });
      writeFileSync(file, 'dump');
      await activities.recordBackup({ manifest: monthly, entry });
      await activities.applyBackupRetention({ manifest: monthly, target: 'db' });
    }
    const remaining = [
      '2025-01-12',
      '2025-01-19',
      '2025-01-26',
      '2025-01-27',
      '2025-01-28',
      '2025-01-29',
      '2025-01-30',
      '2025-01-31',
      '2025-02-01',
    ].map((d) => `${shop.app}-db-${d}`);
    expect(readCatalogueFile(shop).entries.map((e) => e.id)).toEqual(remaining);
    expect(readdirSync(shop.backupsDir).sort()).toEqual(
      ['catalogue.json', ...remaining.map((id) => `${id}.dump`)].sort(),
    );
  });
});
