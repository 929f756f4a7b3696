import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { runOutcome } from '../support/runs';
import { connectClient, startTestWorker, type TestWorker } from '../support/temporal';

// The Almareia guide: zip the production folder, stop, copy, install, start, check; on failure keep the
// failed tree as _failed_<timestamp> and extract the zip back into place.
describe('deploy (in-place strategy with a zip archive)', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    temporal = await connectClient();
    fx = await createAppFixture({ strategy: 'in-place', name: 'almareia' });
    fx.manifest.snapshot = { archiveDir: path.join(fx.dir, 'backups'), exclude: ['__pycache__'] };
    fx.save();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
  });

  async function deploy(version: string, behavior: 'ok' | 'crash' = 'ok') {
    fx.stage(version, { behavior });
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: version }],
    });
    return runOutcome(temporal.client, handle.workflowId);
  }

  it('round trip: v1 in place, a broken v2 restored from the archive, the failed tree kept aside', async () => {
    expect((await deploy('v1')).report.outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v1');
    expect(readFileSync(path.join(fx.root, 'VERSION'), 'utf8').trim()).toBe('v1');

    const broken = await deploy('v2', 'crash');
    expect(broken.report.outcome).toBe('rolled_back');
    expect(await fx.serving()).toBe('v1');
    expect(readFileSync(path.join(fx.root, 'VERSION'), 'utf8').trim()).toBe('v1');

    const failedTree = readdirSync(path.dirname(fx.root)).find((n) =>
      n.startsWith(`${path.basename(fx.root)}_failed_`),
    );
    expect(failedTree).toBeDefined();
    expect(readFileSync(path.join(path.dirname(fx.root), failedTree!, 'VERSION'), 'utf8').trim()).toBe('v2');
    const archives = readdirSync(path.join(fx.dir, 'backups'));
    expect(archives.filter((a) => a.endsWith('.zip'))).toHaveLength(2);
    expect(archives.every((a) => a.startsWith(`${fx.app}_backup_`))).toBe(true);

    const steps = broken.report.steps.map((s) => s.name);
    expect(steps.indexOf(`snapshot: archive ${fx.root}`)).toBeLessThan(steps.indexOf('stop services'));
    expect(steps.indexOf('stop services')).toBeLessThan(steps.indexOf(`update: copy ${fx.staging} into ${fx.root}`));
    expect(steps).toContain(`restore archive of ${fx.root}`);

    const log = readFileSync(`${fx.root}.runbook/deploy_log.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((l) => [l.ref, l.outcome])).toEqual([
      ['v1', 'succeeded'],
      ['v2', 'rolled_back'],
    ]);
    expect(existsSync(path.join(fx.root, 'releases'))).toBe(false);
  });

  it('snapshot.files: false takes no zip, still rolls back exactly; releases.keep prunes copies, zips, failed trees and database snapshots', async () => {
    const archives = () => readdirSync(path.join(fx.dir, 'backups')).filter((a) => a.endsWith('.zip'));
    const failedTrees = () =>
      readdirSync(path.dirname(fx.root)).filter((n) => n.startsWith(`${path.basename(fx.root)}_failed_`));
    const zipsBefore = archives().length;
    fx.manifest.snapshot = { files: false, archiveDir: path.join(fx.dir, 'backups'), exclude: ['__pycache__'] };
    fx.manifest.releases = { keep: 2 };
    fx.save();
    const broken = await deploy('v3', 'crash');
    expect(broken.report.outcome).toBe('rolled_back');
    expect(archives()).toHaveLength(zipsBefore);
    expect(readFileSync(path.join(fx.root, 'VERSION'), 'utf8').trim()).toBe('v1');
    // as a deploy with snapshot.database leaves its database snapshot
    const snapshotsDir = path.join(`${fx.root}.runbook`, 'snapshots');
    mkdirSync(snapshotsDir, { recursive: true });
    writeFileSync(path.join(snapshotsDir, `${fx.app}-${broken.report.release}.dump`), 'snapshot');

    const v4 = await deploy('v4');
    expect(v4.report.outcome).toBe('succeeded');
    const v5 = await deploy('v5');
    expect(v5.report.outcome).toBe('succeeded');
    // ids made within one second do not sort by time, so compare as sets
    const kept = readdirSync(path.join(`${fx.root}.runbook`, 'deploys')).sort();
    expect(kept).toEqual([v4.report.release, v5.report.release].sort());
    expect(failedTrees()).toEqual([]);
    expect(archives()).toEqual([]);
    expect(readdirSync(snapshotsDir)).toEqual([]);
  });

  it('rollback.auto: false leaves a failed deploy as it is and says so', async () => {
    fx.manifest.rollback = { auto: false };
    fx.save();
    const broken = await deploy('v6', 'crash');
    expect(broken.report.outcome).toBe('failed');
    expect(broken.report.summary).toMatch(/FAILED and was left as it is \(rollback.auto: false, nothing undone\)/);
    expect(readFileSync(path.join(fx.root, 'VERSION'), 'utf8').trim()).toBe('v6');
    expect(broken.report.steps.map((s) => s.name)).not.toContain(`restore archive of ${fx.root}`);
  });
});
