import { cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { activityConfigFromEnv } from '../../src/activities';
import { backupActivities } from '../../src/activities/backup';
import { appLockWorkflowId, backupWorkflowId, restoreWorkflowId } from '../../src/common/contracts';
import { createBackupApp, loadAppManifest, readCatalogueFile, type BackupApp } from '../support/backup-app';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { LONG_MS, runKillMatrix, type Scenario, type ScenarioRun } from '../support/kill-matrix';
import { connectClient, uniqueName } from '../support/temporal';
import { treeDigest, writeTree } from '../support/trees';

jest.setTimeout(1_800_000);

const FILES = 30_000;
const long = (b: { durationMs: number }) => b.durationMs >= LONG_MS;

// The kill matrix at real size, on its long activities (after and halfway through each): an in-place
// deploy of a 30,000-file app whose health fails and is rolled back from its archive, and a restore of a
// 30,000-file uploads folder.
describe('kill matrix at real size', () => {
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  beforeAll(async () => (temporal = await connectClient()));
  afterAll(async () => temporal?.close());

  interface InPlaceRun extends ScenarioRun {
    fx: AppFixture;
    v1: string;
  }
  const skip = (rel: string) => ['app.log', '.installed', '__pycache__'].includes(rel);

  const inPlaceRollback: Scenario<InPlaceRun> = {
    name: 'in-place rollback of a 30,000-file app',
    async prepare() {
      const fx = await createAppFixture({ strategy: 'in-place', name: 'kill-size' });
      // v1 is live (as a deploy left it): its files in place, its services started by the rollback.
      fx.stage('v1');
      writeTree(fx.staging, FILES, 'v1');
      cpSync(fx.staging, fx.root, { recursive: true });
      const v1 = treeDigest(fx.root, skip);
      fx.stage('v2', { behavior: 'http500' });
      writeTree(fx.staging, FILES, 'v2');
      return {
        fx,
        v1,
        dir: fx.dir,
        taskQueue: fx.taskQueue,
        hosts: [fx.host],
        manifestsDir: fx.manifestsDir,
        env: {},
        cleanup: () => fx.cleanup(),
      };
    },
    workflowId: (run) => appLockWorkflowId(run.fx.app),
    async start(client, run, workflowId) {
      await client.workflow.start('deploy', {
        taskQueue: run.taskQueue,
        workflowId,
        args: [{ app: run.fx.app, ref: 'v2' }],
      });
    },
    async effects(run) {
      const parent = path.dirname(run.fx.root);
      const name = path.basename(run.fx.root);
      return {
        serving: await run.fx.serving(),
        liveIsV1: treeDigest(run.fx.root, skip) === run.v1,
        failedTrees: readdirSync(parent).filter((n) => n.startsWith(`${name}_failed_`)).length,
        archives: readdirSync(path.join(`${run.fx.root}.runbook`, 'archives')).length,
      };
    },
  };

  interface RestoreRun extends ScenarioRun {
    app: BackupApp;
    backupId: string;
    backedUp: string;
  }
  const restoreAtSize: Scenario<RestoreRun> = {
    name: 'restore of a 30,000-file folder',
    async prepare() {
      const app = await createBackupApp({ prefix: 'killsize' });
      writeTree(app.uploads, FILES);
      const manifest = loadAppManifest(app);
      const activities = backupActivities({ ...activityConfigFromEnv(), env: { ...process.env, ...app.env } });
      const artifact = await activities.createBackupArtifact({
        manifest,
        target: 'uploads',
        stamp: '20250101T000000Z',
        logicalDate: '2025-01-01T00:00:00Z',
        workflowId: 'prepare',
        runId: 'prepare',
      });
      await activities.recordBackup({ manifest, entry: { ...artifact, verified: true } });
      const backedUp = treeDigest(app.uploads, (rel) => rel.endsWith('.tmp'));
      rmSync(path.join(app.uploads, 'lib', 'pkg42'), { recursive: true });
      return {
        app,
        backupId: artifact.id,
        backedUp,
        dir: app.root,
        taskQueue: uniqueName('killsize-q'),
        hosts: [app.host],
        manifestsDir: app.manifestsDir,
        env: app.env,
        async cleanup() {
          rmSync(app.root, { recursive: true, force: true });
        },
      };
    },
    workflowId: (run) => restoreWorkflowId(run.app.app, 'kill'),
    async start(client, run, workflowId) {
      await client.workflow.start('restore', {
        taskQueue: run.taskQueue,
        workflowId,
        args: [{ app: run.app.app, backup: run.backupId }],
      });
    },
    async effects(run) {
      return {
        restored: treeDigest(run.app.uploads, (rel) => rel.endsWith('.tmp')) === run.backedUp,
        replaced: readdirSync(path.dirname(run.app.uploads)).filter((n) => n.startsWith('uploads_replaced_')).length,
      };
    },
  };

  interface BackupRun extends ScenarioRun {
    app: BackupApp;
  }
  const backupAtSize: Scenario<BackupRun> = {
    name: 'files backup of a 30,000-file folder',
    async prepare() {
      const app = await createBackupApp({ prefix: 'killsizebk' });
      writeTree(app.uploads, FILES);
      return {
        app,
        dir: app.root,
        taskQueue: uniqueName('killsizebk-q'),
        hosts: [app.host],
        manifestsDir: app.manifestsDir,
        env: app.env,
        async cleanup() {
          rmSync(app.root, { recursive: true, force: true });
        },
      };
    },
    workflowId: (run) => backupWorkflowId(run.app.app, 'uploads', 'kill'),
    async start(client, run, workflowId) {
      await client.workflow.start('backup', {
        taskQueue: run.taskQueue,
        workflowId,
        args: [{ app: run.app.app, target: 'uploads' }],
      });
    },
    async effects(run) {
      return {
        artifacts: readdirSync(run.app.backupsDir).filter((n) => n.endsWith('.zip')).length,
        catalogued: readCatalogueFile(run.app).entries.map((e) => `${e.target}:${e.verified}:${e.bytes > 0}`),
      };
    },
  };

  it('files backup: every kill in a long step ends with one verified 30,000-file archive, nothing left', async () => {
    const matrix = await runKillMatrix(temporal.client, backupAtSize, {
      limit: 2,
      only: long,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    expect(matrix.baseline).toMatchObject({
      outcome: 'succeeded',
      effects: { artifacts: 1, catalogued: ['uploads:true:true'] },
    });
    expect(matrix.failures).toEqual([]);
  });

  it('in-place rollback: every kill in a long step ends rolled back to the same 30,000-file v1, nothing left', async () => {
    const matrix = await runKillMatrix(temporal.client, inPlaceRollback, {
      limit: 2,
      only: long,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    expect(matrix.baseline).toMatchObject({
      outcome: 'rolled_back',
      effects: { serving: 'v1', liveIsV1: true, failedTrees: 1, archives: 1 },
    });
    expect(matrix.failures).toEqual([]);
  });

  it('files restore: every kill in a long step ends with the 30,000 files as backed up, nothing left', async () => {
    const matrix = await runKillMatrix(temporal.client, restoreAtSize, {
      limit: 2,
      only: long,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    expect(matrix.baseline).toMatchObject({ outcome: 'succeeded', effects: { restored: true, replaced: 1 } });
    expect(matrix.failures).toEqual([]);
  });
});
