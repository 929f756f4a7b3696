import { existsSync, rmSync } from 'node:fs';
import { backupWorkflowId } from '../../src/common/names';
import type { RunReport } from '../../src/common/progress';
import { createBackupApp, readCatalogueFile, type BackupApp } from '../support/backup-app';
import { runCli } from '../support/cli';
import { recordingHistories, saveHistory } from '../support/history';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { sql } from '../support/postgres';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(180_000);

describe('a backup that suddenly shrinks to nothing is flagged and alerted', () => {
  const taskQueue = uniqueName('suspect');
  let shop: BackupApp;
  let webhook: HttpRecorder;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    webhook = await startHttpRecorder(() => ({ status: 200 }));
    shop = await createBackupApp({
      prefix: 'shrink',
      orders: 20_000,
      backups: { keep: { last: 1 }, verifyRestore: undefined },
      extra: {
        notify: { on: ['backup.suspect'], channels: [{ webhook: { urlEnv: 'ALERTS_URL', format: 'json' } }] },
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
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await webhook?.close();
    if (shop) rmSync(shop.root, { recursive: true, force: true });
  });

  const backup = async () =>
    (await temporal.client.workflow.execute('backup', {
      taskQueue,
      workflowId: backupWorkflowId(shop.app, 'db', uniqueName('t')),
      args: [{ app: shop.app, target: 'db' }],
    })) as RunReport;
  type Artifact = { id: string; file: string; suspect?: string };
  const artifactOf = (report: RunReport) => (report.details as { artifacts: Artifact[] }).artifacts[0];

  it('compares each dump with the recent ones; an empty one is SUSPECT, alerted once, and the last good one kept', async () => {
    const good: Artifact[] = [];
    for (let i = 0; i < 3; i++) good.push(artifactOf(await backup()));
    const third = await backup();
    expect(third.steps.find((s) => s.name === 'db: compare with recent backups')?.message).toMatch(
      /^in line with the last 3 \(median /,
    );
    good.push(artifactOf(third));
    expect(webhook.requests).toHaveLength(0);

    // What a `pg_dump | gzip` without pipefail would have produced after the data went: a dump with nothing in it.
    await sql(shop.databaseUrl, 'DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    const report = await backup();
    if (recordingHistories()) saveHistory('backup-suspect.reset-stable-ids', report.workflowId, report.runId);
    expect(report.outcome).toBe('succeeded');
    const suspect = artifactOf(report);
    expect(suspect.suspect).toMatch(/smaller than the median of the last 4 verified backups/);
    expect(report.summary).toContain('(SUSPECT)');
    expect(report.steps.find((s) => s.name === 'db: compare with recent backups')?.message).toMatch(/^SUSPECT: /);

    await webhook.waitForRequests(1);
    const alert = JSON.parse(webhook.requests[0].body) as { event: string; title: string; error: string };
    expect(alert.event).toBe('backup.suspect');
    expect(alert.title).toBe(`${shop.app}: backup db SUSPECT`);
    expect(alert.error).toContain(`runbook restore ${shop.app} --backup ${suspect.id} --scratch`);

    // keep.last 1 keeps the suspect dump, and retention keeps the newest good one too.
    const entries = readCatalogueFile(shop).entries;
    expect(entries.map((e) => [e.id, e.suspect !== undefined])).toEqual([
      [good[3].id, false],
      [suspect.id, true],
    ]);
    expect(existsSync(good[3].file)).toBe(true);
    expect(existsSync(good[2].file)).toBe(false);

    const listed = await runCli(['backups', shop.app], {
      env: { RUNBOOK_MANIFESTS: shop.manifestsDir, RUNBOOK_TASK_QUEUE: taskQueue },
    });
    expect(listed.stdout).toContain(`${suspect.id}  db`);
    expect(listed.stdout).toMatch(/SUSPECT: .* smaller than the median/);
    expect(webhook.requests).toHaveLength(1);
  });
});
