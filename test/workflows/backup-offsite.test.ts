import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { Readable } from 'node:stream';
import { decryptStream, generateKeyPair } from '../../src/activities/offsite/age';
import type { CatalogueEntry } from '../../src/activities/catalogue';
import { sha256File } from '../../src/activities/checksum';
import { backupWorkflowId, restoreWorkflowId } from '../../src/common/names';
import type { RunReport } from '../../src/common/progress';
import {
  createBackupApp,
  fingerprint,
  readCatalogueFile,
  rewriteManifest,
  type BackupApp,
} from '../support/backup-app';
import { recordingHistories, saveHistory } from '../support/history';
import { sql } from '../support/postgres';
import { S3_ENV, startS3Server, type TestS3Server } from '../support/s3';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(180_000);

type Artifact = { id: string; target: string; file: string; offsite?: { key: string; verified: boolean } };

describe('off-site copies in S3-compatible storage (a real moto server), encrypted and not', () => {
  const taskQueue = uniqueName('offsite');
  const bucket = uniqueName('copies').toLowerCase();
  let s3: TestS3Server;
  let plain: BackupApp;
  let sealed: BackupApp;
  let keys: { identity: string; recipient: string };
  let otherKeys: { identity: string; recipient: string };
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  const offsite = (extra: Record<string, unknown> = {}) => ({
    s3: {
      bucket,
      endpoint: s3.endpoint,
      accessKeyIdEnv: 'TEST_S3_ACCESS_KEY',
      secretAccessKeyEnv: 'TEST_S3_SECRET_KEY',
      partSizeMb: 5,
    },
    keep: { last: 2 },
    ...extra,
  });

  beforeAll(async () => {
    s3 = await startS3Server();
    await s3.createBucket(bucket);
    keys = await generateKeyPair();
    otherKeys = await generateKeyPair();
    plain = await createBackupApp({ prefix: 'plain' });
    // Bigger than one 5 MiB part, so the upload is multipart; random, so the zip stays that big.
    writeFileSync(path.join(plain.uploads, 'scan.bin'), randomBytes(12 * 1024 * 1024));
    rewriteManifest(plain, (m) => {
      const backups = m.backups as { targets: unknown[]; keep: unknown; offsite?: unknown };
      backups.targets.push({ name: 'dbdir', postgres: { urlEnv: plain.urlEnv, format: 'directory' } });
      backups.keep = { last: 1 };
      backups.offsite = offsite();
    });
    sealed = await createBackupApp({ prefix: 'sealed', manifestsDir: plain.manifestsDir });
    rewriteManifest(sealed, (m) => {
      (m.backups as { offsite?: unknown }).offsite = offsite({
        targets: ['db'],
        encrypt: { recipients: [keys.recipient], identityEnv: 'SEALED_AGE_IDENTITY' },
      });
    });
    worker = await startTestWorker({
      taskQueue,
      hosts: [plain.host, sealed.host],
      activities: {
        manifestsDir: plain.manifestsDir,
        env: {
          ...process.env,
          ...plain.env,
          ...sealed.env,
          ...S3_ENV,
          SEALED_AGE_IDENTITY: keys.identity,
          OTHER_AGE_IDENTITY: otherKeys.identity,
        },
      },
    });
    temporal = await connectClient();
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await s3?.close();
    for (const app of [plain, sealed]) if (app) rmSync(app.root, { recursive: true, force: true });
  });

  const runBackup = async (app: BackupApp, target: string) => {
    const report = (await temporal.client.workflow.execute('backup', {
      taskQueue,
      workflowId: backupWorkflowId(app.app, target, uniqueName('t')),
      args: [{ app: app.app, target }],
    })) as RunReport;
    return { report, artifact: (report.details as { artifacts: Artifact[] }).artifacts[0] };
  };
  const runRestore = (app: BackupApp, backup: string, scratch = false) =>
    temporal.client.workflow.execute('restore', {
      taskQueue,
      workflowId: restoreWorkflowId(app.app, uniqueName('t')),
      args: [{ app: app.app, backup, ...(scratch ? { scratch } : {}) }],
    }) as Promise<RunReport>;
  const failureOf = async (run: Promise<unknown>): Promise<ApplicationFailure> => {
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return (error as WorkflowFailedError).cause as ApplicationFailure;
  };
  const entryOf = (app: BackupApp, id: string) =>
    readCatalogueFile(app).entries.find((e) => e.id === id) as CatalogueEntry;

  it('copies a verified archive off-site in parts, reads it back in full, and records the copy', async () => {
    const { report, artifact } = await runBackup(plain, 'uploads');
    if (recordingHistories()) saveHistory('backup-offsite.reset-stable-ids', report.workflowId, report.runId);
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['load manifest', 'succeeded'],
      ['uploads: archive', 'succeeded'],
      ['uploads: verify', 'succeeded'],
      ['uploads: compare with recent backups', 'succeeded'],
      ['uploads: copy off-site', 'succeeded'],
      ['uploads: verify off-site copy', 'succeeded'],
      ['uploads: retention', 'succeeded'],
      ['uploads: off-site retention', 'succeeded'],
    ]);
    const key = `${plain.app}/${artifact.id}.zip`;
    expect(artifact.offsite).toMatchObject({ key, verified: true, encrypted: false });
    expect(await s3.keys(bucket, `${plain.app}/`)).toEqual([`${plain.app}/${artifact.id}.entry.json`, key].sort());

    const stored = await s3.read(bucket, key);
    expect(stored.length).toBeGreaterThan(10 * 1024 * 1024);
    // A multipart upload's ETag ends with its number of parts: 12 MiB in 5 MiB parts.
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ETag).toMatch(/-3"$/);
    expect(stored.equals(readFileSync(artifact.file))).toBe(true);
    const entry = entryOf(plain, artifact.id);
    expect(entry.offsite).toMatchObject({ bucket, key, bytes: stored.length, encrypted: false, verified: true });
    expect(entry.offsite?.sha256).toBe(await sha256File(artifact.file));
    expect(entry.offsite?.verification).toMatch(/read back s3:\/\/.* in full .*sha256 matches what was sent/);
    const sidecar = JSON.parse((await s3.read(bucket, `${plain.app}/${artifact.id}.entry.json`)).toString()) as {
      entry: CatalogueEntry;
      offsite: { verified: boolean };
    };
    expect(sidecar.entry).toMatchObject({ id: artifact.id, sha256: entry.sha256, target: 'uploads' });
    expect(sidecar.offsite.verified).toBe(true);
  });

  it('keeps one local file and two off-site copies; the older copy stays listed and restores from the bucket', async () => {
    const before = await fingerprint(plain.databaseUrl, 'public.orders');
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push((await runBackup(plain, 'db')).artifact);
    const [first, second, third] = runs;

    const dbEntries = readCatalogueFile(plain).entries.filter((e) => e.target === 'db');
    expect(dbEntries.map((e) => [e.id, existsSync(e.file), e.localDeletedAt !== undefined])).toEqual([
      [second.id, false, true],
      [third.id, true, false],
    ]);
    expect((await s3.keys(bucket, `${plain.app}/${plain.app}-db-`)).sort()).toEqual(
      [second, third].flatMap((a) => [`${plain.app}/${a.id}.dump`, `${plain.app}/${a.id}.entry.json`]).sort(),
    );
    expect(existsSync(first.file)).toBe(false);

    await sql(plain.databaseUrl, 'DROP TABLE public.orders');
    const restored = await runRestore(plain, second.id);
    if (recordingHistories())
      saveHistory('restore-offsite-fetch.restore-takes-app-lock', restored.workflowId, restored.runId);
    expect(restored.steps.map((s) => [s.name, s.status])).toEqual([
      ['load manifest', 'succeeded'],
      ['take the app lock', 'succeeded'],
      ['find backup', 'succeeded'],
      ['fetch from off-site copy', 'succeeded'],
      ['verify checksum', 'succeeded'],
      ['restore database', 'succeeded'],
      ['record', 'succeeded'],
    ]);
    expect(restored.steps[3].message).toMatch(new RegExp(`^fetched ${second.id} from s3://${bucket}/`));
    expect(await fingerprint(plain.databaseUrl, 'public.orders')).toBe(before);
    expect(existsSync(second.file)).toBe(true);
    expect(entryOf(plain, second.id).localDeletedAt).toBeUndefined();
  });

  it('restores a directory-format dump whose folder was deleted, from its tar copy', async () => {
    const { artifact } = await runBackup(plain, 'dbdir');
    expect(artifact.offsite?.key).toBe(`${plain.app}/${artifact.id}.dumpdir.tar`);
    rmSync(artifact.file, { recursive: true });

    const report = await runRestore(plain, artifact.id, true);
    const [scratch] = (report.details as { restoredTo: string[] }).restoredTo;
    try {
      expect(report.steps.find((s) => s.name === 'fetch from off-site copy')?.status).toBe('succeeded');
      const url = new URL(plain.databaseUrl);
      url.pathname = `/${scratch}`;
      expect(await fingerprint(url.toString(), 'public.customers')).toBe(
        await fingerprint(plain.databaseUrl, 'public.customers'),
      );
    } finally {
      await sql(process.env.RUNBOOK_TEST_PG_URL as string, `DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`);
    }
  });

  it('refuses a corrupt off-site copy when the local file is gone', async () => {
    const { artifact } = await runBackup(plain, 'uploads');
    const key = artifact.offsite?.key as string;
    const stored = await s3.read(bucket, key);
    stored[stored.length - 100] ^= 0xff;
    await s3.write(bucket, key, stored);
    rmSync(artifact.file);

    const failure = await failureOf(runRestore(plain, artifact.id));
    expect(failure.message).toMatch(/off-site copy s3:\/\/.* read as .* not the .* uploaded: it is corrupt/);
    expect(existsSync(artifact.file)).toBe(false);
  });

  it('encrypts with age before upload: the bucket holds ciphertext only the private key opens', async () => {
    const { report, artifact } = await runBackup(sealed, 'db');
    expect(report.steps.find((s) => s.name === 'db: copy off-site')?.message).toMatch(/age-encrypted/);
    const key = `${sealed.app}/${artifact.id}.dump.age`;
    expect(artifact.offsite).toMatchObject({ key, verified: true, encrypted: true });
    const stored = await s3.read(bucket, key);
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    const local = readFileSync(artifact.file);
    expect(stored.includes(local.subarray(0, 64))).toBe(false);
    const opened = await decryptStream(Readable.from([stored]), [keys.identity]);
    const chunks: Buffer[] = [];
    for await (const chunk of opened) chunks.push(Buffer.from(chunk as Uint8Array));
    expect(Buffer.concat(chunks).equals(local)).toBe(true);
    // Only the db target is copied: uploads has no off-site steps.
    const uploads = await runBackup(sealed, 'uploads');
    expect(uploads.report.steps.map((s) => s.name)).not.toContain('uploads: copy off-site');

    // Restore from the encrypted copy: refused without the key, with the wrong key, then done with the right one.
    const before = await fingerprint(sealed.databaseUrl, 'public.orders');
    rmSync(artifact.file);
    rewriteManifest(sealed, (m) => {
      (m.backups as { offsite: { encrypt: { identityEnv: string } } }).offsite.encrypt.identityEnv = 'NO_SUCH_IDENTITY';
    });
    expect((await failureOf(runRestore(sealed, artifact.id))).message).toMatch(/NO_SUCH_IDENTITY is not set/);
    rewriteManifest(sealed, (m) => {
      (m.backups as { offsite: { encrypt: { identityEnv: string } } }).offsite.encrypt.identityEnv =
        'OTHER_AGE_IDENTITY';
    });
    expect((await failureOf(runRestore(sealed, artifact.id))).message).toMatch(
      /could not decrypt .* with the key in OTHER_AGE_IDENTITY/,
    );
    rewriteManifest(sealed, (m) => {
      (m.backups as { offsite: { encrypt: { identityEnv: string } } }).offsite.encrypt.identityEnv =
        'SEALED_AGE_IDENTITY';
    });
    await sql(sealed.databaseUrl, 'DELETE FROM public.orders');
    const restored = await runRestore(sealed, artifact.id);
    expect(restored.steps.find((s) => s.name === 'fetch from off-site copy')?.message).toMatch(/decrypted/);
    expect(await fingerprint(sealed.databaseUrl, 'public.orders')).toBe(before);
  });
});
