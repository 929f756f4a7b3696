import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { activityConfigFromEnv } from '../../src/activities';
import { backupActivities } from '../../src/activities/backup';
import { backupWorkflowId, restoreWorkflowId } from '../../src/common/names';
import { createBackupApp, loadAppManifest, readCatalogueFile, type BackupApp } from '../support/backup-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { runKillMatrix, type Scenario, type ScenarioRun } from '../support/kill-matrix';
import { createDatabase, queryColumn } from '../support/postgres';
import { connectClient, uniqueName } from '../support/temporal';
import { treeDigest } from '../support/trees';

jest.setTimeout(1_200_000);

interface BackupRun extends ScenarioRun {
  app: BackupApp;
  hook: HttpRecorder;
  /** The restore's backup id and the uploads as they were backed up. */
  backupId?: string;
  backedUp?: string;
}

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0;

// The kill matrix of a backup (database dump and files archive) and of a restore: killed after every
// activity and halfway through every long one, each ends as it would have, with one artifact per target,
// one catalogue entry, one restore record, one log line, one audit row and one notification.
describe('kill matrix: backup and restore', () => {
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let auditUrl: string;

  beforeAll(async () => {
    temporal = await connectClient();
    auditUrl = await createDatabase(
      process.env.RUNBOOK_TEST_PG_URL as string,
      uniqueName('killaudit').replace(/-/g, '_'),
    );
  });
  afterAll(async () => temporal?.close());

  async function prepareApp(): Promise<BackupRun> {
    const hook = await startHttpRecorder(() => ({ status: 200 }));
    const app = await createBackupApp({
      prefix: 'killbk',
      extra: {
        notify: {
          on: ['succeeded', 'failed'],
          channels: [{ webhook: { urlEnv: 'KILL_WEBHOOK_URL', format: 'json' } }],
        },
      },
    });
    return {
      app,
      hook,
      dir: app.root,
      taskQueue: uniqueName('killbk-q'),
      hosts: [app.host],
      manifestsDir: app.manifestsDir,
      env: { ...app.env, KILL_WEBHOOK_URL: `${hook.url}/hooks`, RUNBOOK_DATABASE_URL: auditUrl },
      async cleanup() {
        await hook.close();
        rmSync(app.root, { recursive: true, force: true });
      },
    };
  }

  const common = async (run: BackupRun, workflowId: string) => ({
    deployLogLines: lines(path.join(run.app.root, 'deploy_log.jsonl')),
    auditRows: (
      await queryColumn(auditUrl, `SELECT count(*)::int FROM runbook.runs WHERE workflow_id = '${workflowId}'`)
    )[0],
    notifications: run.hook.requests.length,
  });

  const backupScenario: Scenario<BackupRun> = {
    name: 'backup (database and files)',
    prepare: prepareApp,
    workflowId: (run) => backupWorkflowId(run.app.app, undefined, 'kill'),
    async start(client, run, workflowId) {
      await client.workflow.start('backup', { taskQueue: run.taskQueue, workflowId, args: [{ app: run.app.app }] });
    },
    async effects(run, report) {
      const catalogue = readCatalogueFile(run.app);
      return {
        artifacts: readdirSync(run.app.backupsDir)
          .filter((n) => !n.startsWith('.') && n !== 'catalogue.json')
          .sort()
          .map((n) => n.replace(run.app.app, 'APP').replace(/\d{8}T\d{6}Z/, 'TIME')),
        catalogued: catalogue.entries.map((e) => `${e.target}:${e.verified}`).sort(),
        ...(await common(run, report.workflowId)),
      };
    },
  };

  const restoreScenario: Scenario<BackupRun> = {
    name: 'restore (files)',
    async prepare() {
      const run = await prepareApp();
      const manifest = loadAppManifest(run.app);
      const activities = backupActivities({ ...activityConfigFromEnv(), env: { ...process.env, ...run.app.env } });
      const artifact = await activities.createBackupArtifact({
        manifest,
        target: 'uploads',
        stamp: '20250101T000000Z',
        logicalDate: '2025-01-01T00:00:00Z',
        workflowId: 'prepare',
        runId: 'prepare',
      });
      await activities.recordBackup({ manifest, entry: { ...artifact, verified: true } });
      run.backupId = artifact.id;
      run.backedUp = treeDigest(run.app.uploads, (rel) => rel.endsWith('.tmp'));
      rmSync(path.join(run.app.uploads, 'invoices'), { recursive: true });
      writeFileSync(path.join(run.app.uploads, 'logo.png'), 'changed since the backup');
      return run;
    },
    workflowId: (run) => restoreWorkflowId(run.app.app, 'kill'),
    async start(client, run, workflowId) {
      await client.workflow.start('restore', {
        taskQueue: run.taskQueue,
        workflowId,
        args: [{ app: run.app.app, backup: run.backupId }],
      });
    },
    async effects(run, report) {
      const parent = path.dirname(run.app.uploads);
      return {
        restored: treeDigest(run.app.uploads, (rel) => rel.endsWith('.tmp')) === run.backedUp,
        replaced: readdirSync(parent).filter((n) => n.startsWith('uploads_replaced_')).length,
        restoreRecords: readCatalogueFile(run.app).restores.length,
        ...(await common(run, report.workflowId)),
      };
    },
  };

  for (const scenario of [backupScenario, restoreScenario])
    it(`${scenario.name}: every kill ends as the undisturbed run did, every side effect once, nothing left behind`, async () => {
      const matrix = await runKillMatrix(temporal.client, scenario, {
        limit: 3,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      expect(matrix.baseline.outcome).toBe('succeeded');
      expect(matrix.baseline.effects).toMatchObject({ deployLogLines: 1, auditRows: 1, notifications: 1 });
      expect(matrix.failures).toEqual([]);
    });
});
