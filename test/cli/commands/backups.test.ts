import { rmSync } from 'node:fs';
import type { CatalogueEntry } from '../../../src/activities/catalogue';
import { backupLine } from '../../../src/cli/commands/backups';
import { backupWorkflowId } from '../../../src/common/names';
import { createBackupApp, readCatalogueFile, type BackupApp } from '../../support/backup-app';
import { runCli } from '../../support/cli';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../../support/temporal';

jest.setTimeout(120_000);

describe('runbook backups <app>', () => {
  const taskQueue = uniqueName('backups-cli');
  let shop: BackupApp;
  let worker: TestWorker;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    shop = await createBackupApp({ prefix: 'list' });
    worker = await startTestWorker({
      taskQueue,
      hosts: [shop.host],
      activities: { manifestsDir: shop.manifestsDir, env: { ...process.env, ...shop.env } },
    });
    env = { RUNBOOK_MANIFESTS: shop.manifestsDir, RUNBOOK_TASK_QUEUE: taskQueue };
  });
  afterAll(async () => {
    await worker?.stop();
    rmSync(shop.root, { recursive: true, force: true });
  });

  it('says there are none yet, then lists the catalogue newest first', async () => {
    const none = await runCli(['backups', shop.app], { env });
    expect(none.code).toBe(0);
    expect(none.stdout).toBe(`no backups of ${shop.app} yet; make one with \`runbook backup ${shop.app}\`\n`);

    const temporal = await connectClient();
    try {
      await temporal.client.workflow.execute('backup', {
        taskQueue,
        workflowId: backupWorkflowId(shop.app, undefined, uniqueName('t')),
        args: [{ app: shop.app }],
      });
    } finally {
      await temporal.close();
    }
    const json = await runCli(['backups', shop.app, '--json'], { env });
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout) as CatalogueEntry[];
    expect(entries).toEqual([...readCatalogueFile(shop).entries].reverse());
    expect(entries.map((e) => e.target).sort()).toEqual(['db', 'uploads']);

    const human = await runCli(['backups', shop.app], { env });
    const lines = human.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const [i, line] of lines.entries())
      expect(line.startsWith(`✓ ${entries[i].id}  ${entries[i].target}  ${entries[i].logicalDate}  `)).toBe(true);
  });

  it('refuses an app without a manifest (exit 2), naming the known ones', async () => {
    const result = await runCli(['backups', 'no-such-app'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`known apps: ${shop.app}`);
  });

  it('has help with an example', async () => {
    const help = await runCli(['backups', '--help'], { env });
    expect(help.stdout).toContain('$ runbook backups orquetask');
  });
});

describe('a catalogue line', () => {
  const entry: CatalogueEntry = {
    id: 'shop-db-20250131T050000Z',
    app: 'shop',
    target: 'db',
    kind: 'postgres',
    format: 'custom',
    file: '/srv/shop/backups/shop-db-20250131T050000Z.dump',
    createdAt: '2025-01-31T05:00:07.000Z',
    logicalDate: '2025-01-31T05:00:00.000Z',
    bytes: 2048,
    sha256: 'ab'.repeat(32),
    workflowId: 'backup-shop-db-2025-01-31T05:00:00Z',
    runId: 'r1',
    verified: true,
  };

  it('says where the copies are: off-site, encrypted, local file deleted by retention', () => {
    expect(backupLine(entry)).toBe('✓ shop-db-20250131T050000Z  db  2025-01-31T05:00:00.000Z  2.0 KB');
    const copy = {
      bucket: 'b',
      key: 'shop/shop-db-20250131T050000Z.dump.age',
      bytes: 2300,
      sha256: 'cd'.repeat(32),
      encrypted: true,
      uploadedAt: '2025-01-31T05:00:09.000Z',
      verified: true,
    };
    expect(backupLine({ ...entry, offsite: copy, localDeletedAt: '2025-02-08T05:00:09.000Z' })).toBe(
      '✓ shop-db-20250131T050000Z  db  2025-01-31T05:00:00.000Z  2.0 KB  local copy deleted by retention, off-site ✓ encrypted',
    );
  });
});
