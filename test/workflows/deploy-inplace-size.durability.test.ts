import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { runOutcome } from '../support/runs';
import { connectClient } from '../support/temporal';
import { treeDigest, writeTree } from '../support/trees';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(600_000);

// The Almareia guide at real size: a 30,000-file live folder, archived, copied over, and restored from the
// archive when the new version's health fails. Every step is longer than the heartbeat timeout.
describe('in-place deploy of a 30,000-file app', () => {
  let fx: AppFixture;
  let worker: WorkerProcess;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    temporal = await connectClient();
    fx = await createAppFixture({ strategy: 'in-place', name: 'almareia-size' });
    fx.manifest.snapshot = { archiveDir: path.join(fx.dir, 'backups'), exclude: ['__pycache__'] };
    fx.save();
    worker = await startWorkerProcess({ taskQueue: fx.taskQueue, hosts: [fx.host], manifestsDir: fx.manifestsDir });
  });
  afterAll(async () => {
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
  });

  async function deploy(version: string, behavior: 'ok' | 'http500' = 'ok') {
    fx.stage(version, { behavior });
    writeTree(fx.staging, 30_000, version);
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: version }],
    });
    return runOutcome(temporal.client, handle.workflowId);
  }

  it('a failed health check puts the 30,000-file v1 back in place, with every attempt alone', async () => {
    expect((await deploy('v1')).report.outcome).toBe('succeeded');
    const live = () => treeDigest(fx.root, (rel) => ['app.log', '.installed', '__pycache__'].includes(rel));
    const v1 = live();
    expect(v1.startsWith('303')).toBe(true); // 30,000 files, 300 folders, lib/ and the app's own files

    const broken = await deploy('v2', 'http500');
    expect(broken.report.outcome).toBe('rolled_back');
    expect(await fx.serving()).toBe('v1');
    expect(live()).toBe(v1);
    const history = await temporal.client.workflow.getHandle(appLockWorkflowId(fx.app)).fetchHistory();
    const retried = (history.events ?? [])
      .filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
      .map((e) => e.eventId);
    expect(retried).toEqual([]);
    const beside = readdirSync(path.dirname(fx.root)).filter((n) => n !== path.basename(fx.root));
    expect(beside.filter((n) => n.includes('.restoring') || n.includes('.tmp'))).toEqual([]);
    expect(existsSync(fx.root)).toBe(true);
  });
});
