import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { isAlive } from '../../src/activities/containment';
import { backupWorkflowId } from '../../src/common/names';
import type { RunReport } from '../../src/common/progress';
import { createBackupApp, readCatalogueFile, type BackupApp } from '../support/backup-app';
import { stopChild, waitFor } from '../support/postgres';
import { processesMentioning } from '../support/processes';
import { connectClient, uniqueName } from '../support/temporal';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '..', '..');

/** A real worker process, as production runs it: `node dist/workers/main.js`. */
async function spawnWorker(app: BackupApp, taskQueue: string, log: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'workers', 'main.js')], {
    env: {
      ...process.env,
      ...app.env,
      RUNBOOK_TASK_QUEUE: taskQueue,
      RUNBOOK_HOSTS: app.host,
      RUNBOOK_MANIFESTS: app.manifestsDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let ready = false;
  child.stdout?.on('data', (d: Buffer) => {
    log.push(d.toString());
    if (d.toString().includes('runbook worker')) ready = true;
  });
  child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`worker exited: ${log.join('')}`);
    if (!ready) throw new Error('worker not ready');
  }, 60_000);
  return child;
}

describe('a worker killed in the middle of a dump', () => {
  let app: BackupApp;
  let locker: Client | undefined;
  const workers: ChildProcess[] = [];
  const log: string[] = [];

  beforeAll(async () => {
    app = await createBackupApp({ prefix: 'crash' });
  });
  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    for (const w of workers) await stopChild(w, 'SIGTERM');
    rmSync(app.root, { recursive: true, force: true });
  });

  it('is replaced by a new worker that dumps again from scratch; only one finished, verified artifact is catalogued', async () => {
    const taskQueue = uniqueName('crash');
    // Hold the dump mid-way: pg_dump has opened its output file and waits for this table's lock.
    locker = new Client({ connectionString: app.databaseUrl });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');

    workers.push(await spawnWorker(app, taskQueue, log));
    const temporal = await connectClient();
    try {
      const handle = await temporal.client.workflow.start('backup', {
        taskQueue,
        workflowId: backupWorkflowId(app.app, 'db', uniqueName('crash')),
        args: [{ app: app.app, target: 'db' }],
      });

      const partials = () =>
        existsSync(app.backupsDir) ? readdirSync(app.backupsDir).filter((n) => n.includes('.partial-')) : [];
      await waitFor(async () => {
        if (partials().length === 0) throw new Error('no dump in progress yet');
      }, 60_000);
      const [firstPartial] = partials();
      const first = workers[0];
      const [orphan] = processesMentioning('pg_dump', first.pid);
      expect(orphan).toBeDefined();

      const exited = new Promise((resolve) => first.once('exit', resolve));
      first.kill('SIGKILL');
      await exited;
      // The dead attempt's partial file is left behind; its pg_dump dies with the worker (its reaper ends it).
      expect(partials()).toEqual([firstPartial]);

      workers.push(await spawnWorker(app, taskQueue, log));
      // The retry (after the missed heartbeats) stops the orphan, deletes its partial file, starts a new one.
      await waitFor(
        async () => {
          const now = partials();
          if (now.length === 0 || now.includes(firstPartial)) throw new Error('retry has not started a fresh dump yet');
        },
        120_000,
        200,
      );
      expect(partials()).toHaveLength(1);
      expect(isAlive(orphan)).toBe(false);
      await locker.query('COMMIT');

      const report = (await handle.result()) as RunReport;
      expect(report.outcome).toBe('succeeded');
      const [artifact] = (report.details as { artifacts: Array<{ id: string; verified: boolean }> }).artifacts;
      expect(artifact.verified).toBe(true);

      const catalogue = readCatalogueFile(app);
      expect(catalogue.entries).toHaveLength(1);
      expect(catalogue.entries[0]).toMatchObject({
        id: artifact.id,
        verified: true,
        restoreVerified: true,
        workflowId: handle.workflowId,
      });
      expect(readdirSync(app.backupsDir).sort()).toEqual([`${artifact.id}.dump`, 'catalogue.json'].sort());

      // The history shows the dump activity finished on its second attempt.
      const history = await handle.fetchHistory();
      const started = (history.events ?? [])
        .filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes?.attempt);
      expect(started).toContain(2);
    } finally {
      await temporal.close();
    }
  });
});
