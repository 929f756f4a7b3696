import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { activityConfigFromEnv } from '../../src/activities';
import { backupActivities } from '../../src/activities/backup';
import { backupWorkflowId, restoreWorkflowId } from '../../src/common/names';
import { loadAppManifest, readCatalogueFile } from '../support/backup-app';
import { runKillMatrix, useKillMatrixSuite, type BackupAppRun, type Scenario } from '../support/kill-matrix';
import { treeDigest } from '../support/trees';

jest.setTimeout(1_200_000);

interface BackupRun extends BackupAppRun {
  /** The restore's backup id and the uploads as they were backed up. */
  backupId?: string;
  backedUp?: string;
}

// The kill matrix of a backup (database dump and files archive) and of a restore: killed after every
// activity and halfway through every long one, each ends as it would have, with one artifact per target,
// one catalogue entry, one restore record, one log line, one audit row and one notification.
describe('kill matrix: backup and restore', () => {
  const suite = useKillMatrixSuite('killaudit');

  const prepareApp = (): Promise<BackupRun> => suite.backupApp('killbk');

  const common = (run: BackupRun, workflowId: string) =>
    suite.recorded(run, path.join(run.app.root, 'deploy_log.jsonl'), workflowId);

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
      const matrix = await runKillMatrix(suite.client, scenario, {
        limit: 3,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      expect(matrix.baseline.outcome).toBe('succeeded');
      expect(matrix.baseline.effects).toMatchObject({ deployLogLines: 1, auditRows: 1, notifications: 1 });
      expect(matrix.failures).toEqual([]);
    });
});
