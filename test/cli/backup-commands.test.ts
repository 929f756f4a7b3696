import { rmSync } from 'node:fs';
import type { RunReport } from '../../src/common/progress';
import { createBackupApp, type BackupApp } from '../support/backup-app';
import { runCli } from '../support/cli';
import { startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(180_000);

/** backup and restore through the built binary, with the real workflows, PostgreSQL and files. */
describe('runbook backup and restore (real workflows, database and files)', () => {
  const taskQueue = uniqueName('backup-cli');
  let shop: BackupApp;
  let unconfigured: BackupApp;
  let worker: TestWorker;
  let env: Record<string, string>;

  beforeAll(async () => {
    shop = await createBackupApp({ prefix: 'clishop' });
    // Its worker lacks the database URL variable the manifest names: its database backup cannot run.
    unconfigured = await createBackupApp({ prefix: 'clibare', manifestsDir: shop.manifestsDir });
    worker = await startTestWorker({
      taskQueue,
      hosts: [shop.host, unconfigured.host],
      activities: {
        manifestsDir: shop.manifestsDir,
        env: { ...process.env, ...shop.env, RUNBOOK_PG_BIN: process.env.RUNBOOK_TEST_PG_BIN },
      },
    });
    env = { RUNBOOK_MANIFESTS: shop.manifestsDir, RUNBOOK_TASK_QUEUE: taskQueue };
  });
  afterAll(async () => {
    await worker?.stop();
    for (const app of [shop, unconfigured]) if (app) rmSync(app.root, { recursive: true, force: true });
  });

  it('backs up every target, shows the steps and the link, and restores a dump into a scratch database', async () => {
    const backup = await runCli(['backup', shop.app], { env });
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(
      new RegExp(`^backup ${shop.app} \\(backup-${shop.app}-\\d{8}T\\d{6}Z\\)\\n {2}http://\\S+/history\\n`),
    );
    expect(backup.stdout).toMatch(/ {2}✓ db: \S.* {2}succeeded/);
    expect(backup.stdout).toMatch(/ {2}✓ uploads: \S.* {2}succeeded/);
    expect(backup.stdout).toMatch(new RegExp(`✓ backup ${shop.app} succeeded in \\S+: `));

    const listed = await runCli(['backups', shop.app, '--json'], { env });
    const dump = (JSON.parse(listed.stdout) as Array<{ id: string; target: string }>).find((e) => e.target === 'db');
    expect(dump).toBeDefined();

    const restore = await runCli(['restore', shop.app, '--backup', dump?.id as string, '--scratch', '--json'], { env });
    expect(restore.code).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({
      kind: 'restore',
      outcome: 'succeeded',
      report: { kind: 'restore', app: shop.app },
    });
  });

  it('exits 1 when a backup fails, with the error that says what to fix', async () => {
    const result = await runCli(['backup', unconfigured.app, '--target', 'db', '--json'], { env });
    expect(result.code).toBe(1);
    const end = JSON.parse(result.stdout) as { outcome: string; error: string; report: RunReport };
    expect(end).toMatchObject({
      kind: 'backup',
      outcome: 'failed',
      report: { app: unconfigured.app, outcome: 'failed' },
    });
    expect(end.error).toContain(unconfigured.urlEnv);
  });

  it('refuses a target the manifest does not have before starting anything (exit 2)', async () => {
    const result = await runCli(['backup', shop.app, '--target', 'logs'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: --target 'logs' is not a backup target of ${shop.app}`);
    expect(result.stderr).toContain('hint: its targets are: db, uploads');
  });
});
