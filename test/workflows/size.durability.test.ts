import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { activityConfigFromEnv } from '../../src/activities';
import { backupActivities } from '../../src/activities/backup';
import { appLockWorkflowId, backupWorkflowId, restoreWorkflowId } from '../../src/common/names';
import { stageDemoApp } from '../../src/devserver/demo-app';
import { loadAppManifest, readCatalogueFile, rewriteManifest, type BackupApp } from '../support/backup-app';
import {
  countLines,
  runKillMatrix,
  useKillMatrixSuite,
  type BackupAppRun,
  type DeployAppRun,
  type NotifyingRun,
  type Scenario,
} from '../support/kill-matrix';
import { cloneTree, treeDigest, writeTree } from '../support/trees';

jest.setTimeout(1_800_000);

const FILES = 30_000;

/** Makes something once, when first asked for. */
function madeOnce<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

// The kill matrix at real size (30,000 files), where a kill costs most: halfway through every long activity of
// a releases deploy, an in-place deploy rolled back after its health failed, a files backup and its restore.
// Each killed run ends as its undisturbed run did, every side effect once, nothing left behind. (Every
// boundary of the same scenarios is killed at small size in deploy.durability and backup.durability.)
describe('kill matrix at real size', () => {
  const suite = useKillMatrixSuite('killsize');
  // The 30,000-file trees runs only read (sources, the folder a backup zips, templates) are written once.
  let shared: string;

  beforeAll(() => {
    shared = mkdtempSync(path.join(os.tmpdir(), 'runbook-killsize-'));
  });
  afterAll(async () => {
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  interface DeployRun extends DeployAppRun {
    /** The digest the deploy's end state is compared with: the staged tree, or the live folder before it. */
    expected: string;
  }

  const startDeploy: Scenario<DeployRun>['start'] = async (client, run, workflowId) => {
    await client.workflow.start('deploy', {
      taskQueue: run.taskQueue,
      workflowId,
      args: [{ app: run.fx.app, ref: run.fx.manifest.strategy === 'in-place' ? 'v2' : 'v1' }],
    });
  };
  /** What the deploy left in a release that was not staged: the install's marker and Runbook's own record. */
  const notStaged = (rel: string) => ['.installed', '.runbook', 'app.log', '__pycache__'].includes(rel);

  const releasesSource = madeOnce(() => {
    const dir = path.join(shared, 'releases-v1');
    stageDemoApp(dir, 'v1');
    writeTree(dir, FILES, 'v1');
    return { dir, digest: treeDigest(dir, notStaged) };
  });
  const releasesDeploy: Scenario<DeployRun> = {
    name: 'releases deploy of a 30,000-file copy source',
    async prepare() {
      const run = await suite.deployApp('releases', 'killsize-releases');
      const source = releasesSource();
      (run.fx.manifest.source as { from: string }).from = source.dir;
      run.fx.save();
      return { ...run, expected: source.digest };
    },
    workflowId: (run) => appLockWorkflowId(run.fx.app),
    start: startDeploy,
    async effects(run, report) {
      const releasesDir = path.join(run.fx.root, 'releases');
      const releases = readdirSync(releasesDir).filter((n) => !n.startsWith('.'));
      return {
        serving: await run.fx.serving(),
        releases: releases.length,
        releaseAsStaged: releases.map((id) => treeDigest(path.join(releasesDir, id), notStaged) === run.expected),
        installs: countLines(run.counter),
        ...(await suite.recorded(run, path.join(run.fx.root, 'deploy_log.jsonl'), report.workflowId)),
      };
    },
  };

  const inPlaceTrees = madeOnce(() => {
    // v1 as a deploy left it live, with what the zip leaves out beside its code; v2, whose health fails.
    const v1 = path.join(shared, 'in-place-v1');
    stageDemoApp(v1, 'v1');
    writeTree(v1, FILES, 'v1');
    writeFileSync(path.join(v1, '.installed'), 'ok\n');
    for (const kept of ['uploads/invoices/2025-001.pdf', 'venv/bin/python', '__pycache__/app.cpython.pyc']) {
      mkdirSync(path.dirname(path.join(v1, kept)), { recursive: true });
      writeFileSync(path.join(v1, kept), `${kept} of v1\n`);
    }
    const v2 = path.join(shared, 'in-place-v2');
    stageDemoApp(v2, 'v2', { behavior: 'http500' });
    writeTree(v2, FILES, 'v2');
    return { v1, v1Digest: treeDigest(v1), v2 };
  });
  const inPlaceRollback: Scenario<DeployRun> = {
    name: 'in-place deploy of a 30,000-file app, rolled back',
    async prepare() {
      const run = await suite.deployApp('in-place', 'killsize-in-place');
      const { fx } = run;
      const trees = inPlaceTrees();
      const manifest = fx.manifest as {
        source: { from: string };
        services: Array<Record<string, unknown>>;
        health: { checks: Array<Record<string, unknown>> };
        snapshot?: unknown;
      };
      manifest.source.from = trees.v2;
      // The app logs outside its folder, so the folder's digest changes only if the deploy changed it.
      const log = path.join(fx.dir, 'logs', 'app.log');
      manifest.services[0].log = log;
      for (const check of manifest.health.checks) if (check.logs) check.logs = log;
      // One failing HTTP check is failure enough: each long check would be one more kill case.
      manifest.health.checks = manifest.health.checks.filter((check) => check.name !== 'login page');
      manifest.snapshot = { exclude: ['uploads', 'venv', '__pycache__'] };
      fx.save();
      // v1 is live; its service is started by the rollback.
      await cloneTree(trees.v1, fx.root);
      return { ...run, expected: trees.v1Digest };
    },
    workflowId: (run) => appLockWorkflowId(run.fx.app),
    start: startDeploy,
    async effects(run, report) {
      const { fx } = run;
      const stateDir = `${fx.root}.runbook`;
      const name = path.basename(fx.root);
      return {
        serving: await fx.serving(),
        liveAsBefore: treeDigest(fx.root) === run.expected,
        failedTrees: readdirSync(path.dirname(fx.root)).filter((n) => n.startsWith(`${name}_failed_`)).length,
        archives: readdirSync(path.join(stateDir, 'archives')).length,
        installs: countLines(run.counter),
        ...(await suite.recorded(run, path.join(stateDir, 'deploy_log.jsonl'), report.workflowId)),
      };
    },
  };

  interface FilesRun extends BackupAppRun {
    /** The restore's backup and the uploads as they were backed up. */
    backupId?: string;
    backedUp?: string;
  }
  const uploadsDigest = (app: BackupApp) => treeDigest(app.uploads, (rel) => rel.endsWith('.tmp'));

  const uploadsTree = madeOnce(() => {
    const dir = path.join(shared, 'uploads');
    writeTree(dir, FILES);
    return dir;
  });

  const filesBackup: Scenario<FilesRun> = {
    name: 'files backup of a 30,000-file folder',
    async prepare() {
      const run: FilesRun = await suite.backupApp('killsizebk');
      const uploads = uploadsTree();
      rewriteManifest(run.app, (manifest) => {
        const targets = (manifest.backups as { targets: Array<{ files?: { paths: string[] } }> }).targets;
        for (const target of targets) if (target.files) target.files.paths = [uploads];
      });
      return run;
    },
    workflowId: (run) => backupWorkflowId(run.app.app, 'uploads', 'kill'),
    async start(client, run, workflowId) {
      await client.workflow.start('backup', {
        taskQueue: run.taskQueue,
        workflowId,
        args: [{ app: run.app.app, target: 'uploads' }],
      });
    },
    async effects(run, report) {
      return {
        artifacts: readdirSync(run.app.backupsDir)
          .filter((n) => !n.startsWith('.') && n !== 'catalogue.json')
          .map((n) => n.replace(run.app.app, 'APP').replace(/\d{8}T\d{6}Z/, 'TIME')),
        catalogued: readCatalogueFile(run.app).entries.map((e) => `${e.target}:${e.verified}:${e.bytes > 0}`),
        ...(await suite.recorded(run, path.join(run.app.root, 'deploy_log.jsonl'), report.workflowId)),
      };
    },
  };

  const filesRestore: Scenario<FilesRun> = {
    name: 'restore of a 30,000-file folder',
    async prepare() {
      const run: FilesRun = await suite.backupApp('killsizebk');
      await cloneTree(uploadsTree(), run.app.uploads);
      const activities = backupActivities({ ...activityConfigFromEnv(), env: { ...process.env, ...run.app.env } });
      const manifest = loadAppManifest(run.app);
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
      run.backedUp = uploadsDigest(run.app);
      await rm(path.join(run.app.uploads, 'lib', 'pkg42'), { recursive: true });
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
      return {
        restored: uploadsDigest(run.app) === run.backedUp,
        replaced: readdirSync(path.dirname(run.app.uploads)).filter((n) => n.startsWith('uploads_replaced_')).length,
        restoreRecords: readCatalogueFile(run.app).restores.length,
        ...(await suite.recorded(run, path.join(run.app.root, 'deploy_log.jsonl'), report.workflowId)),
      };
    },
  };

  const matrix = <R extends NotifyingRun>(scenario: Scenario<R>) =>
    runKillMatrix(suite.client, scenario, {
      limit: 2,
      only: (kill) => kill.when === 'mid',
      log: (line) => process.stdout.write(`${line}\n`),
    });
  const once = { installs: 1, deployLogLines: 1, auditRows: 1, notifications: 1 };

  it('releases deploy: a kill halfway through any long step ends with one release of the 30,000 files, nothing left', async () => {
    const { baseline, failures } = await matrix(releasesDeploy);
    expect(baseline).toMatchObject({
      outcome: 'succeeded',
      effects: { serving: 'v1', releases: 1, releaseAsStaged: [true], ...once },
    });
    expect(failures).toEqual([]);
  });

  it('in-place rollback: a kill halfway through any long step ends with the whole 30,000-file folder as before, nothing left', async () => {
    const { baseline, failures } = await matrix(inPlaceRollback);
    expect(baseline).toMatchObject({
      outcome: 'rolled_back',
      effects: { serving: 'v1', liveAsBefore: true, failedTrees: 1, archives: 1, ...once },
    });
    expect(failures).toEqual([]);
  });

  it('files backup: a kill halfway through any long step ends with one verified 30,000-file archive, nothing left', async () => {
    const { baseline, failures } = await matrix(filesBackup);
    expect(baseline).toMatchObject({
      outcome: 'succeeded',
      effects: { catalogued: ['uploads:true:true'], deployLogLines: 1, auditRows: 1, notifications: 1 },
    });
    expect(failures).toEqual([]);
  });

  it('files restore: a kill halfway through any long step ends with the 30,000 files as backed up, nothing left', async () => {
    const { baseline, failures } = await matrix(filesRestore);
    expect(baseline).toMatchObject({
      outcome: 'succeeded',
      effects: { restored: true, replaced: 1, restoreRecords: 1, deployLogLines: 1, auditRows: 1, notifications: 1 },
    });
    expect(failures).toEqual([]);
  });
});
