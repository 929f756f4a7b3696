import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { Client } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { sha256Path } from '../../src/activities/checksum';
import type { CatalogueEntry } from '../../src/activities/catalogue';
import { appLockWorkflowId, backupWorkflowId, restoreWorkflowId } from '../../src/common/names';
import type { Progress, RunReport } from '../../src/common/progress';
import { activityConfigFromEnv } from '../../src/activities';
import { serviceActivities } from '../../src/activities/services';
import { freePort } from '../../src/devserver/ports';
import {
  createBackupApp,
  databaseExists,
  fingerprint,
  loadAppManifest,
  queryValue,
  readCatalogueFile,
  rewriteManifest,
  type BackupApp,
} from '../support/backup-app';
import { recordingHistories, saveHistory } from '../support/history';
import { sql, waitFor } from '../support/postgres';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(180_000);

describe('backup and restore workflows on the real dev server and PostgreSQL', () => {
  const taskQueue = uniqueName('backups');
  let shop: BackupApp;
  let empty: BackupApp;
  let served: BackupApp;
  let port: number;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    shop = await createBackupApp({ prefix: 'shop' });
    // Same tables, no orders: the dump restores, but the sanity query (count(*) > 0) says false.
    empty = await createBackupApp({ prefix: 'empty', manifestsDir: shop.manifestsDir, orders: 0 });
    // An app with a running web process: a restore stops it, restores, starts it and checks its health.
    port = await freePort();
    const server = `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
    served = await createBackupApp({
      prefix: 'served',
      manifestsDir: shop.manifestsDir,
      extra: {
        strategy: 'in-place',
        services: [{ name: 'web', type: 'process', start: [process.execPath, '-e', server], port }],
        health: {
          within: '20s',
          interval: '500ms',
          checks: [{ name: 'home page', http: `http://127.0.0.1:${port}/` }],
        },
      },
    });
    worker = await startTestWorker({
      taskQueue,
      hosts: [shop.host, empty.host, served.host],
      activities: {
        manifestsDir: shop.manifestsDir,
        env: { ...process.env, ...shop.env, ...empty.env, ...served.env },
      },
    });
    temporal = await connectClient();
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    if (served)
      await serviceActivities(activityConfigFromEnv())
        .stopServices({ manifest: loadAppManifest(served) })
        .catch(() => undefined);
    for (const app of [shop, empty, served]) if (app) rmSync(app.root, { recursive: true, force: true });
  });

  const runBackup = (app: BackupApp, target?: string) =>
    temporal.client.workflow.execute('backup', {
      taskQueue,
      workflowId: backupWorkflowId(app.app, target, uniqueName('t')),
      args: [{ app: app.app, ...(target ? { target } : {}) }],
    }) as Promise<RunReport>;

  const runRestore = (app: BackupApp, backup: string | undefined, scratch = false) =>
    temporal.client.workflow.execute('restore', {
      taskQueue,
      workflowId: restoreWorkflowId(app.app, uniqueName('t')),
      args: [{ app: app.app, ...(backup !== undefined ? { backup } : {}), ...(scratch ? { scratch } : {}) }],
    }) as Promise<RunReport>;

  const failureOf = async (run: Promise<unknown>): Promise<ApplicationFailure> => {
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return (error as WorkflowFailedError).cause as ApplicationFailure;
  };

  it('backs up every target: verified dump and archive, checksums, catalogue entries, search attributes and memo', async () => {
    const workflowId = backupWorkflowId(shop.app, undefined, uniqueName('all'));
    const handle = await temporal.client.workflow.start('backup', { taskQueue, workflowId, args: [{ app: shop.app }] });
    const report = (await handle.result()) as RunReport;
    if (recordingHistories()) saveHistory('backup-verify-restore.unique-scratch-names', workflowId, report.runId);

    expect(report.outcome).toBe('succeeded');
    expect(report.kind).toBe('backup');
    const artifacts = (
      report.details as {
        artifacts: Array<{ id: string; target: string; verified: boolean; file: string; sha256: string }>;
      }
    ).artifacts;
    expect(artifacts.map((a) => [a.target, a.verified])).toEqual([
      ['db', true],
      ['uploads', true],
    ]);
    for (const artifact of artifacts) {
      expect(artifact.id).toMatch(new RegExp(`^${shop.app}-${artifact.target}-\\d{8}T\\d{6}Z$`));
      expect(await sha256Path(artifact.file)).toBe(artifact.sha256);
    }
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['load manifest', 'succeeded'],
      ['db: dump', 'succeeded'],
      ['db: verify', 'succeeded'],
      ['db: verify restore', 'succeeded'],
      ['db: compare with recent backups', 'succeeded'],
      ['db: retention', 'succeeded'],
      ['uploads: archive', 'succeeded'],
      ['uploads: verify', 'succeeded'],
      ['uploads: compare with recent backups', 'succeeded'],
      ['uploads: retention', 'succeeded'],
    ]);

    const catalogue = readCatalogueFile(shop);
    const entries = catalogue.entries.filter((e) => e.workflowId === workflowId);
    expect(entries).toHaveLength(2);
    const db = entries.find((e) => e.target === 'db') as CatalogueEntry;
    expect(db).toMatchObject({
      app: shop.app,
      kind: 'postgres',
      format: 'custom',
      workflowId,
      runId: handle.firstExecutionRunId,
      verified: true,
      restoreVerified: true,
    });
    expect(db.file).toBe(path.join(shop.backupsDir, `${db.id}.dump`));
    expect(db.verification).toMatch(
      /pg_restore --list read \d+ entries; every data block read back; restored into a scratch database; sanity query returned true/,
    );
    expect(Date.parse(db.createdAt)).toBeGreaterThan(0);
    expect(Date.parse(db.logicalDate)).toBeGreaterThan(0);
    expect(entries.find((e) => e.target === 'uploads')).toMatchObject({ kind: 'files', format: 'zip', verified: true });
    // the scratch database of verifyRestore is gone
    expect(await verifyCopies(shop)).toBe(0);

    const description = await handle.describe();
    expect(description.searchAttributes.App).toEqual([shop.app]);
    expect(description.searchAttributes.Action).toEqual(['backup']);
    expect(description.searchAttributes.Outcome).toEqual(['succeeded']);
    expect(String(description.memo?.summary)).toMatch(new RegExp(`^backup ${shop.app}: 2 verified artifact\\(s\\)`));
  });

  it('restores the database after a table is dropped: the rows are equal again', async () => {
    const before = await fingerprint(shop.databaseUrl, 'public.orders');
    const backup = await runBackup(shop, 'db');
    const [artifact] = (backup.details as { artifacts: Array<{ id: string }> }).artifacts;

    await sql(shop.databaseUrl, 'DROP TABLE public.orders');
    await sql(shop.databaseUrl, "UPDATE public.customers SET name = 'renamed after the backup'");
    const report = await runRestore(shop, artifact.id);

    expect(report.outcome).toBe('succeeded');
    expect(report.details).toMatchObject({
      backup: artifact.id,
      target: 'db',
      scratch: false,
      restoredTo: [shop.databaseName],
    });
    expect(await fingerprint(shop.databaseUrl, 'public.orders')).toBe(before);
    expect(
      await queryValue(
        shop.databaseUrl,
        "SELECT count(*)::int FROM public.customers WHERE name = 'renamed after the backup'",
      ),
    ).toBe(0);
    const record = readCatalogueFile(shop).restores.find((r) => r.workflowId === report.workflowId);
    expect(record).toMatchObject({ backup: artifact.id, outcome: 'succeeded', scratch: false });
  });

  it('restores into a scratch database named from the app and run, touching nothing else', async () => {
    const backup = await runBackup(shop, 'db');
    const [artifact] = (backup.details as { artifacts: Array<{ id: string }> }).artifacts;
    await sql(shop.databaseUrl, 'DELETE FROM public.orders WHERE id > 10');

    const report = await runRestore(shop, artifact.id, true);
    const [scratch] = (report.details as { restoredTo: string[] }).restoredTo;
    expect(scratch).toMatch(new RegExp(`^${shop.databaseName}_restore_\\d{8}t\\d{6}z$`));
    try {
      expect(await databaseExists(scratch)).toBe(true);
      const scratchUrl = new URL(shop.databaseUrl);
      scratchUrl.pathname = `/${scratch}`;
      expect(await queryValue(scratchUrl.toString(), 'SELECT count(*)::int FROM public.orders')).toBe(2000);
      expect(await queryValue(shop.databaseUrl, 'SELECT count(*)::int FROM public.orders')).toBe(10);
      expect(report.steps.map((s) => s.name)).toEqual([
        'load manifest',
        'find backup',
        'verify checksum',
        'restore into a scratch database',
        'record',
      ]);
    } finally {
      await sql(process.env.RUNBOOK_TEST_PG_URL as string, `DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`);
    }
  });

  it('puts folders back in place, keeping what they replace and carrying back what the backup excluded', async () => {
    const backup = await runBackup(shop, 'uploads');
    const [artifact] = (backup.details as { artifacts: Array<{ id: string }> }).artifacts;
    writeFileSync(path.join(shop.uploads, 'logo.png'), 'a broken logo');
    writeFileSync(path.join(shop.uploads, 'new-after-backup.txt'), 'new');
    rmSync(path.join(shop.uploads, 'invoices'), { recursive: true });

    const report = await runRestore(shop, artifact.id);
    const { restoredTo, replaced } = report.details as { restoredTo: string[]; replaced: string[] };
    expect(restoredTo).toEqual([shop.uploads]);
    expect(replaced).toHaveLength(1);
    expect(replaced[0]).toMatch(new RegExp(`^${shop.uploads}_replaced_\\d{8}T\\d{6}Z$`));

    expect(readdirSync(shop.uploads).sort()).toEqual(['invoices', 'logo.png', 'upload-in-progress.tmp']);
    expect(readFileSync(path.join(shop.uploads, 'logo.png'), 'utf8')).toBe('logo');
    expect(readFileSync(path.join(shop.uploads, 'invoices', '2025-001.pdf'), 'utf8')).toBe('invoice 1');
    expect(readdirSync(replaced[0]).sort()).toEqual(['logo.png', 'new-after-backup.txt']);
    expect(readFileSync(path.join(replaced[0], 'logo.png'), 'utf8')).toBe('a broken logo');
    expect(readdirSync(path.dirname(shop.uploads)).filter((n) => n.startsWith('.runbook-restore'))).toEqual([]);
  });

  it("stops the app's services for a restore, starts them again and checks their health", async () => {
    const backup = await runBackup(served, 'db');
    const [artifact] = (backup.details as { artifacts: Array<{ id: string }> }).artifacts;
    await sql(served.databaseUrl, 'TRUNCATE public.orders');

    const report = await runRestore(served, artifact.id);
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['load manifest', 'succeeded'],
      ['take the app lock', 'succeeded'],
      ['find backup', 'succeeded'],
      ['verify checksum', 'succeeded'],
      ['stop services', 'succeeded'],
      ['restore database', 'succeeded'],
      ['start services', 'succeeded'],
      [`health: home page (http://127.0.0.1:${port}/)`, 'succeeded'],
      ['record', 'succeeded'],
    ]);
    expect(report.steps.find((s) => s.name === 'start services')?.message).toMatch(/^started web \(pid \d+/);
    expect(await queryValue(served.databaseUrl, 'SELECT count(*)::int FROM public.orders')).toBe(2000);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
  });

  it('a cancelled backup ends cancelled, stops its dump, leaves no partial file and is logged', async () => {
    const locker = new Client({ connectionString: shop.databaseUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE'); // holds pg_dump mid-way
      const handle = await temporal.client.workflow.start('backup', {
        taskQueue,
        workflowId: backupWorkflowId(shop.app, 'db', uniqueName('cancel')),
        args: [{ app: shop.app, target: 'db' }],
      });
      const partials = () => readdirSync(shop.backupsDir).filter((n) => n.includes('.partial-'));
      await waitFor(async () => expect(partials()).toHaveLength(1), 30_000);
      await handle.cancel();
      const error = await handle.result().catch((e: unknown) => e);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      await waitFor(async () => expect(partials()).toEqual([]), 30_000);
      const logged = readFileSync(path.join(shop.root, 'deploy_log.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { workflowId: string; outcome: string });
      expect(logged.find((l) => l.workflowId === handle.workflowId)?.outcome).toBe('cancelled');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  });

  it("takes the app's lock for a restore that changes live data: refused while a deploy runs, never for a scratch copy", async () => {
    const backup = await runBackup(shop, 'uploads');
    const [artifact] = (backup.details as { artifacts: Array<{ id: string }> }).artifacts;
    mkdirSync(path.join(shop.root, 'staging'), { recursive: true });
    writeFileSync(path.join(shop.root, 'staging', 'VERSION'), 'v1\n');
    const deployAtGate = async () => {
      const handle = await temporal.client.workflow.start('deploy', {
        taskQueue,
        workflowId: appLockWorkflowId(shop.app),
        args: [{ app: shop.app, ref: 'v1', requireApproval: true }],
      });
      await waitFor(async () => {
        if ((await handle.query<Progress>('progress')).state !== 'waiting-approval') throw new Error('not at the gate');
      }, 60_000);
      return handle;
    };
    const abort = async (handle: Awaited<ReturnType<typeof deployAtGate>>) => {
      await handle.executeUpdate('abort', { args: ['test: done'] });
      await handle.result().catch(() => undefined);
    };

    const deploy = await deployAtGate();
    try {
      const refused = await failureOf(runRestore(shop, artifact.id));
      expect(refused.message).toContain(
        `${shop.app} is busy: a deploy, rollback or restore of it runs as workflow ${appLockWorkflowId(shop.app)}; restore ${artifact.id} once it has ended`,
      );
      expect((await runRestore(shop, artifact.id, true)).outcome).toBe('succeeded');
    } finally {
      await abort(deploy);
    }
    const restored = await runRestore(shop, artifact.id);
    expect(restored.outcome).toBe('succeeded');
    expect(restored.steps.map((s) => s.name)).toContain('take the app lock');
    // Released when the restore ended: the next deploy may start.
    await abort(await deployAtGate());
  });

  it('refuses a restore without a backup id, saying how to find one', async () => {
    const failure = await failureOf(runRestore(shop, undefined));
    expect(failure.message).toContain('restore needs the id of the backup to restore');
    expect(failure.message).toContain(`runbook backups ${shop.app}`);
  });

  it('refuses an unknown backup id, listing the newest ones', async () => {
    const failure = await failureOf(runRestore(shop, 'no-such-backup'));
    expect(failure.message).toContain("no backup 'no-such-backup'");
    expect(failure.message).toContain('newest:');
    const report = failure.details?.[0] as RunReport;
    expect(report.outcome).toBe('failed');
    expect(report.steps.find((s) => s.name === 'find backup')?.status).toBe('failed');
  });

  it('refuses to restore an artifact whose checksum changed', async () => {
    const backup = await runBackup(shop, 'uploads');
    const [artifact] = (backup.details as { artifacts: Array<{ id: string; file: string }> }).artifacts;
    const bytes = readFileSync(artifact.file);
    bytes[bytes.length - 30] ^= 0xff;
    writeFileSync(artifact.file, bytes);
    const before = readdirSync(shop.uploads).sort();

    const failure = await failureOf(runRestore(shop, artifact.id));
    expect(failure.message).toMatch(/checksum .* is not the catalogued/);
    expect(readdirSync(shop.uploads).sort()).toEqual(before);
  });

  it('fails verification when the restored copy fails the sanity query, and catalogues the dump as not verified', async () => {
    const failure = await failureOf(runBackup(empty, 'db'));
    expect(failure.type).toBe('BackupFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('sanity query on the restored copy returned false');
    const report = failure.details?.[0] as RunReport;
    expect(report.outcome).toBe('failed');
    expect(report.steps.find((s) => s.name === 'db: verify restore')?.status).toBe('failed');
    expect(report.steps.find((s) => s.name === 'db: retention')?.status).toBe('skipped');

    const [entry] = readCatalogueFile(empty).entries;
    expect(entry).toMatchObject({ target: 'db', verified: false, restoreVerified: false });
    expect(existsSync(entry.file)).toBe(true);
    expect(await verifyCopies(empty)).toBe(0);

    const refused = await failureOf(runRestore(empty, entry.id));
    expect(refused.message).toContain('did not pass verification');
  });

  it('applies retention after each good backup: keep.last 2 leaves the two newest', async () => {
    const reports: RunReport[] = [];
    for (let i = 0; i < 3; i++) reports.push(await runBackup(shop, 'uploads'));
    const ids = reports.map((r) => (r.details as { artifacts: Array<{ id: string }> }).artifacts[0].id);
    const kept = readCatalogueFile(shop)
      .entries.filter((e) => e.target === 'uploads')
      .map((e) => e.id);
    expect(kept).toEqual(ids.slice(1));
    const files = readdirSync(shop.backupsDir)
      .filter((n) => n.includes('-uploads-'))
      .sort();
    expect(files).toEqual(
      ids
        .slice(1)
        .map((id) => `${id}.zip`)
        .sort(),
    );
  });

  it('fails clearly for a target the manifest does not have', async () => {
    const failure = await failureOf(runBackup(shop, 'nope'));
    expect(failure.message).toContain("no backup target 'nope'");
    expect(failure.message).toContain('known targets: db, uploads');
  });

  it('a cancelled restore starts the services again only after pg_restore has stopped', async () => {
    const backup = await runBackup(served, 'db');
    const [artifact] = (backup.details as { artifacts: Array<{ id: string; file: string }> }).artifacts;
    // The restore's database command: pg_restore, or the psql that applies the script pg_restore wrote from the
    // dump (a clean restore replaces the dumped schemas whole in one transaction).
    const pgRestore = `[p](g_restore|sql).*${artifact.file}`;
    const running = () => spawnSync('pgrep', ['-f', pgRestore], { encoding: 'utf8' }).stdout.trim();
    // The service records, as it starts, whether a pg_restore of this dump still runs.
    const marker = path.join(served.root, 'started-while.txt');
    const recorder = [
      'import subprocess, sys, time',
      "found = subprocess.run(['pgrep', '-f', sys.argv[1]], capture_output=True, text=True).stdout.strip()",
      // (no literal p-g_restore in this text: pgrep -f would find this very process)
      "open(sys.argv[2], 'a').write('restore running: ' + (found or 'none') + '\\n')",
      'time.sleep(600)',
    ].join('\n');
    const { services, health } = loadAppManifest(served);
    rewriteManifest(served, (m) => {
      m.services = [{ name: 'web', type: 'process', start: ['python3', '-c', recorder, pgRestore, marker], port }];
      m.health = { checks: [] };
    });
    const locker = new Client({ connectionString: served.databaseUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE'); // holds pg_restore --clean
      const handle = await temporal.client.workflow.start('restore', {
        taskQueue,
        workflowId: restoreWorkflowId(served.app, uniqueName('cancel')),
        args: [{ app: served.app, backup: artifact.id }],
      });
      await waitFor(async () => {
        if (!running()) throw new Error('pg_restore not started yet');
      }, 60_000);
      await handle.cancel();
      const error = await handle.result().catch((e: unknown) => e);
      expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      await waitFor(async () => {
        if (!existsSync(marker)) throw new Error('services not started again yet');
      }, 30_000);
      expect(readFileSync(marker, 'utf8')).toBe('restore running: none\n');
      expect(running()).toBe('');
    } finally {
      await locker.end().catch(() => undefined);
      await serviceActivities(activityConfigFromEnv())
        .stopServices({ manifest: loadAppManifest(served) })
        .catch(() => undefined);
      rewriteManifest(served, (m) => Object.assign(m, { services, health }));
    }
  });

  it('lists the catalogue through the backups workflow, newest first', async () => {
    const entries = (await temporal.client.workflow.execute('backups', {
      taskQueue,
      workflowId: uniqueName('backups-list'),
      args: [{ app: shop.app }],
    })) as CatalogueEntry[];
    expect(entries.length).toBeGreaterThan(0);
    expect(entries).toEqual(
      readCatalogueFile(shop)
        .entries.filter((e) => e.app === shop.app)
        .reverse(),
    );
  });
});

/** The verify-restore scratch databases of an app that exist now (whatever their exact names). */
function verifyCopies(app: BackupApp): Promise<unknown> {
  return queryValue(
    process.env.RUNBOOK_TEST_PG_URL as string,
    `SELECT count(*)::int FROM pg_database WHERE datname LIKE '${app.databaseName}\\_verify\\_%'`,
  );
}
