import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sha256File } from '../../src/activities/checksum';
import { backupWorkflowId } from '../../src/common/names';
import type { RunReport } from '../../src/common/progress';
import { createBackupApp, queryValue, readCatalogueFile, type BackupApp } from '../support/backup-app';
import { runCli } from '../support/cli';
import { sql } from '../support/postgres';
import { recordingHistories, saveHistory } from '../support/history';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(180_000);

describe('restore drills with evidence', () => {
  const taskQueue = uniqueName('drill');
  let shop: BackupApp;
  let webhook: HttpRecorder;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    webhook = await startHttpRecorder(() => ({ status: 200 }));
    shop = await createBackupApp({
      prefix: 'drill',
      backups: { drill: { queries: ['SELECT count(*) = 200 FROM public.customers'] } },
      extra: {
        notify: { on: ['drill.failed'], channels: [{ webhook: { urlEnv: 'ALERTS_URL', format: 'json' } }] },
      },
    });
    worker = await startTestWorker({
      taskQueue,
      hosts: [shop.host],
      activities: {
        manifestsDir: shop.manifestsDir,
        env: { ...process.env, ...shop.env, ALERTS_URL: `${webhook.url}/alerts` },
      },
    });
    temporal = await connectClient();
    await temporal.client.workflow.execute('backup', {
      taskQueue,
      workflowId: backupWorkflowId(shop.app, undefined, uniqueName('t')),
      args: [{ app: shop.app }],
    });
    env = { RUNBOOK_MANIFESTS: shop.manifestsDir, RUNBOOK_TASK_QUEUE: taskQueue };
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await webhook?.close();
    if (shop) rmSync(shop.root, { recursive: true, force: true });
  });

  const backupDb = async (): Promise<string> => {
    const report = (await temporal.client.workflow.execute('backup', {
      taskQueue,
      workflowId: backupWorkflowId(shop.app, 'db', uniqueName('t')),
      args: [{ app: shop.app, target: 'db' }],
    })) as RunReport;
    return (report.details as { artifacts: Array<{ id: string }> }).artifacts[0].id;
  };
  const scratchDatabases = () =>
    queryValue(
      process.env.RUNBOOK_TEST_PG_URL as string,
      `SELECT count(*)::int FROM pg_database WHERE datname LIKE '${shop.databaseName}_db_drill_%'`,
    );
  const lastAlert = () =>
    JSON.parse(webhook.requests[webhook.requests.length - 1].body) as { event: string; error: string };

  it('restores the newest backup of each target into a scratch copy, records RTO and counts, and drops the copy', async () => {
    const run = await runCli(['drill', shop.app, '--json'], { env });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { report: RunReport };
    if (recordingHistories()) {
      saveHistory('drill-succeeded.reset-stable-ids', report.report.workflowId, report.report.runId);
      saveHistory('drill-succeeded.unique-scratch-names', report.report.workflowId, report.report.runId);
    }
    expect(report.report.outcome).toBe('succeeded');
    expect(report.report.steps.map((s) => [s.name, s.status])).toEqual([
      ['load manifest', 'succeeded'],
      ...['db', 'uploads'].flatMap((t) => [
        [`${t}: pick newest backup`, 'succeeded'],
        [`${t}: verify checksum`, 'succeeded'],
        [`${t}: restore into a scratch copy`, 'succeeded'],
        [`${t}: check the restored copy`, 'succeeded'],
        [`${t}: drop the scratch copy`, 'succeeded'],
        [`${t}: record`, 'succeeded'],
      ]),
    ]);

    const { drills, entries } = readCatalogueFile(shop);
    const db = drills.find((d) => d.target === 'db');
    expect(db).toMatchObject({
      outcome: 'succeeded',
      rows: { 'public.customers': 200, 'public.orders': 2000 },
      queries: [
        { query: 'SELECT count(*) = 200 FROM public.customers', ok: true, detail: 'returned true' },
        { query: 'SELECT count(*) > 0 FROM public.orders', ok: true, detail: 'returned true' },
      ],
    });
    expect(db?.rtoMs).toBeGreaterThan(0);
    expect(drills.find((d) => d.target === 'uploads')).toMatchObject({
      outcome: 'succeeded',
      files: { count: 2, bytes: 'invoice 1'.length + 'logo'.length },
    });
    const drilled = entries.find((e) => e.id === db?.backup);
    expect(drilled?.lastDrill).toMatchObject({ outcome: 'succeeded', tables: 2, rows: 2200 });

    // Nothing left behind: the scratch database is dropped, the scratch folder removed.
    expect(
      await queryValue(
        process.env.RUNBOOK_TEST_PG_URL as string,
        `SELECT count(*)::int FROM pg_database WHERE datname LIKE '${shop.databaseName}_db_drill_%'`,
      ),
    ).toBe(0);
    expect(
      existsSync(path.join(shop.backupsDir, 'scratch')) ? readdirSync(path.join(shop.backupsDir, 'scratch')) : [],
    ).toEqual([]);

    const listed = await runCli(['backups', shop.app], { env });
    expect(listed.stdout).toMatch(
      new RegExp(`${db?.backup}  db .* drill ✓ \\d{4}-\\d{2}-\\d{2} RTO \\d+\\.\\ds, 2 tables, 2200 rows`),
    );
    expect(webhook.requests).toHaveLength(0);
  });

  it('fails a drill of a corrupted artifact, records it and alerts', async () => {
    const newest = readCatalogueFile(shop)
      .entries.filter((e) => e.target === 'db')
      .sort((a, b) => b.logicalDate.localeCompare(a.logicalDate))[0];
    const bytes = readFileSync(newest.file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(newest.file, bytes);

    const run = await runCli(['drill', shop.app, '--target', 'db'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr + run.stdout).toMatch(/drill .* failed/i);

    await webhook.waitForRequests(1);
    const alert = JSON.parse(webhook.requests[0].body) as { event: string; error: string; details: unknown };
    expect(alert.event).toBe('drill.failed');
    expect(alert.error).toMatch(/db: backup .* checksum .* is not the catalogued/);
    const { drills, entries } = readCatalogueFile(shop);
    expect(drills.filter((d) => d.backup === newest.id).map((d) => d.outcome)).toEqual(['succeeded', 'failed']);
    expect(entries.find((e) => e.id === newest.id)?.lastDrill).toMatchObject({ outcome: 'failed' });
    const listed = await runCli(['backups', shop.app], { env });
    expect(listed.stdout).toMatch(/drill ✗ \d{4}-\d{2}-\d{2}: backup .* checksum/);
  });

  it('fails a drill of a dump that was broken when it was catalogued: the restore fails, it alerts, no copy is left', async () => {
    // A dump cut short (a full disk, a killed pg_dump) whose checksum was taken as it was: the checksum agrees,
    // only restoring it shows it is broken.
    const id = await backupDb();
    const catalogue = path.join(shop.backupsDir, 'catalogue.json');
    const entry = readCatalogueFile(shop).entries.find((e) => e.id === id);
    if (!entry) throw new Error(`${id} is not catalogued`);
    truncateSync(entry.file, Math.floor(entry.bytes / 3));
    const sha256 = await sha256File(entry.file);
    const stored = JSON.parse(readFileSync(catalogue, 'utf8')) as { entries: Array<Record<string, unknown>> };
    for (const e of stored.entries) if (e.id === id) Object.assign(e, { sha256, bytes: Math.floor(entry.bytes / 3) });
    writeFileSync(catalogue, JSON.stringify(stored, null, 2));
    const alertsBefore = webhook.requests.length;

    const run = await runCli(['drill', shop.app, '--target', 'db', '--json'], { env });
    expect(run.code).toBe(1);
    await webhook.waitForRequests(alertsBefore + 1);
    expect(lastAlert().event).toBe('drill.failed');
    expect(lastAlert().error).toContain(`db: `);
    expect(lastAlert().error).toMatch(/pg_restore/);
    const { drills, entries } = readCatalogueFile(shop);
    const recorded = drills.filter((d) => d.backup === id);
    expect(recorded.map((d) => d.outcome)).toEqual(['failed']);
    expect(recorded[0].error).toMatch(/pg_restore/);
    expect(entries.find((e) => e.id === id)?.lastDrill).toMatchObject({ outcome: 'failed' });
    expect(await scratchDatabases()).toBe(0);
  });

  it('fails a drill whose restored copy fails a sanity query, with the counts it saw, and alerts', async () => {
    // One customer (and its orders) gone before the dump: it restores, but not what the app needs.
    await sql(
      shop.databaseUrl,
      'DELETE FROM public.orders WHERE customer = 7; DELETE FROM public.customers WHERE id = 7',
    );
    const id = await backupDb();
    const alertsBefore = webhook.requests.length;

    const run = await runCli(['drill', shop.app, '--target', 'db'], { env });
    expect(run.code).toBe(1);
    await webhook.waitForRequests(alertsBefore + 1);
    expect(lastAlert().event).toBe('drill.failed');
    expect(lastAlert().error).toContain('SELECT count(*) = 200 FROM public.customers returned false');
    const recorded = readCatalogueFile(shop).drills.filter((d) => d.backup === id);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ outcome: 'failed' });
    expect(recorded[0].error).toContain('sanity query on the restored copy');
    expect(recorded[0].rows).toEqual({ 'public.customers': 199, 'public.orders': 1990 });
    expect(recorded[0].queries).toContainEqual({
      query: 'SELECT count(*) = 200 FROM public.customers',
      ok: false,
      detail: 'returned false',
    });
    expect(await scratchDatabases()).toBe(0);
  });
});
