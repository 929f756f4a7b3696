import { applySchedules, deleteSchedule, listSchedules } from '../../src/client/schedules';
import { watchWorkflowId } from '../../src/common/names';
import { freePort } from '../../src/devserver/ports';
import { createBackupApp, loadAppManifest, type BackupApp } from '../support/backup-app';
import { runCli } from '../support/cli';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { waitFor } from '../support/postgres';
import { connectClient, uniqueName } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(240_000);

/** One sample of a Prometheus text exposition: the value of `name{labels…}` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/**
 * A worker process with RUNBOOK_METRICS_ADDRESS serves one Prometheus endpoint with the SDK's metrics and
 * Runbook's; after a deploy and a backup through the CLI, a scrape shows both (docs/metrics.md lists them).
 */
describe('worker metrics (Prometheus)', () => {
  const taskQueue = uniqueName('metrics');
  let web: AppFixture;
  let shop: BackupApp;
  let worker: WorkerProcess;
  let address: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    web = await createAppFixture({ name: 'metered' });
    shop = await createBackupApp({
      prefix: 'metered-shop',
      manifestsDir: web.manifestsDir,
      // Paused during a disk swap: every slot since the pause is missed, one alert for the pause.
      extra: {
        schedules: [
          { name: 'heartbeat', cron: '* * * * *', run: 'backup', target: 'db', deadline: '5s', paused: true },
        ],
      },
    });
    address = `127.0.0.1:${await freePort()}`;
    env = { RUNBOOK_TASK_QUEUE: taskQueue, RUNBOOK_MANIFESTS: web.manifestsDir };
    worker = await startWorkerProcess({
      taskQueue,
      hosts: [web.host, shop.host],
      manifestsDir: web.manifestsDir,
      env: { ...(shop.env as Record<string, string>), RUNBOOK_METRICS_ADDRESS: address },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await web?.cleanup();
  });

  it('serves the SDK metrics and Runbook runs, durations and backups after a deploy and a backup', async () => {
    expect(worker.output()).toContain(`metrics on http://${address}/metrics`);
    web.stage('v1');
    expect((await runCli(['deploy', web.app, '--ref', 'v1'], { env, timeoutMs: 120_000 })).code).toBe(0);
    const before = Date.now() / 1000;
    expect((await runCli(['backup', shop.app, '--target', 'db'], { env, timeoutMs: 120_000 })).code).toBe(0);

    let text = '';
    await waitFor(
      async () => {
        text = await (await fetch(`http://${address}/metrics`)).text();
        expect(sample(text, 'runbook_runs_total', { kind: 'backup', app: shop.app, outcome: 'succeeded' })).toBe(1);
      },
      30_000,
      500,
    );
    expect(sample(text, 'runbook_runs_total', { kind: 'deploy', app: web.app, outcome: 'succeeded' })).toBe(1);
    expect(sample(text, 'runbook_run_duration_seconds_count', { kind: 'deploy', app: web.app })).toBe(1);
    expect(sample(text, 'runbook_run_duration_seconds_sum', { kind: 'deploy', app: web.app })).toBeGreaterThan(0);
    expect(sample(text, 'runbook_run_duration_seconds_bucket', { kind: 'deploy', app: web.app, le: '+Inf' })).toBe(1);
    expect(sample(text, 'runbook_backup_size_bytes', { app: shop.app, target: 'db' })).toBeGreaterThan(1000);
    const at = sample(text, 'runbook_backup_last_success_timestamp_seconds', { app: shop.app, target: 'db' }) ?? 0;
    expect(at).toBeGreaterThanOrEqual(Math.floor(before) - 1);
    expect(at).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    // The SDK's own series, from the same endpoint.
    expect(sample(text, 'temporal_workflow_completed_total', { task_queue: taskQueue })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^temporal_activity_execution_latency_bucket\{/m);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
    expect(text).toMatch(/^temporal_num_pollers\{/m);
  });

  it("counts the watcher's missed-run alerts by schedule and reason", async () => {
    const temporal = await connectClient();
    try {
      await applySchedules(temporal.client, loadAppManifest(shop), { taskQueue });
      await temporal.client.workflow.start('watch', {
        taskQueue,
        workflowId: watchWorkflowId(shop.app),
        args: [{ app: shop.app, every: '2s', since: new Date(Date.now() - 3 * 60_000).toISOString() }],
      });
      const missed = async () =>
        sample(await (await fetch(`http://${address}/metrics`)).text(), 'runbook_schedule_missed_total', {
          app: shop.app,
          schedule: 'heartbeat',
          reason: 'paused',
        });
      // The first slot of the every-minute schedule comes up to a minute after it is applied, and is missed once
      // its 5 s deadline passes: begun in a minute's first seconds, that is more than 60 s away.
      await waitFor(async () => expect(await missed()).toBe(1), 120_000, 500);
      // Later looks find the same pause: no second alert, no second count.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect(await missed()).toBe(1);
    } finally {
      await temporal.client.workflow
        .getHandle(watchWorkflowId(shop.app))
        .terminate('test over')
        .catch(() => undefined);
      for (const s of await listSchedules(temporal.client, { app: shop.app }))
        await deleteSchedule(temporal.client, s.scheduleId);
      await temporal.close();
    }
  }, 180_000);
});
