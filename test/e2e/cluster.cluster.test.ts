import { deleteSchedule, listSchedules } from '../../src/client/schedules';
import { createBackupApp, readCatalogueFile, type BackupApp } from '../support/backup-app';
import { runCli } from '../support/cli';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { queryColumn, waitFor } from '../support/postgres';
import { connectClient, uniqueName } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(600_000);

const BUILD_ID = '0.1.0';

/**
 * Runbook against a Temporal cluster as production runs it (global setup: the server built from its Go module
 * on PostgreSQL, frontend behind mTLS, namespace and search attributes made by deploy/temporal's scripts):
 * the CLI and two worker processes — the app's machine orchestrating, the database machine host-only —
 * connect with the same TEMPORAL_* variables an operator sets, and run a deploy with a rollback, a backup and
 * a schedule.
 */
describe('Runbook on a Temporal cluster (PostgreSQL, mTLS)', () => {
  const taskQueue = uniqueName('cluster');
  let web: AppFixture;
  let shop: BackupApp;
  let webWorker: WorkerProcess;
  let dbWorker: WorkerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    web = await createAppFixture({ name: 'web' });
    shop = await createBackupApp({
      prefix: 'shop',
      manifestsDir: web.manifestsDir,
      backups: { keep: { last: 5 } },
      extra: { schedules: [{ name: 'nightly', cron: '0 2 * * *', timezone: 'UTC', run: 'backup', target: 'db' }] },
    });
    env = { RUNBOOK_TASK_QUEUE: taskQueue, RUNBOOK_MANIFESTS: web.manifestsDir };
    // Versioned, as production runs them (docs/production.md, "Upgrading Runbook"): one build on both machines.
    [webWorker, dbWorker] = await Promise.all([
      startWorkerProcess({
        taskQueue,
        hosts: [web.host],
        manifestsDir: web.manifestsDir,
        env: { RUNBOOK_BUILD_ID: BUILD_ID },
      }),
      startWorkerProcess({
        taskQueue,
        hosts: [shop.host],
        manifestsDir: web.manifestsDir,
        orchestrate: false,
        env: { ...(shop.env as Record<string, string>), RUNBOOK_BUILD_ID: BUILD_ID },
      }),
    ]);
  });
  afterAll(async () => {
    const temporal = await connectClient().catch(() => undefined);
    if (temporal) {
      for (const s of await listSchedules(temporal.client, { app: shop.app }).catch(() => []))
        await deleteSchedule(temporal.client, s.scheduleId).catch(() => undefined);
      await temporal.close();
    }
    await Promise.allSettled([webWorker?.stop(), dbWorker?.stop()]);
    await web?.cleanup();
  });

  it('connects every process over mTLS to the cluster on PostgreSQL', async () => {
    const address = process.env.TEMPORAL_ADDRESS as string;
    expect(process.env.TEMPORAL_TLS_CLIENT_CERT_PATH).toBeTruthy();
    expect(webWorker.output()).toContain(`on ${address} (default): task queues ${taskQueue}, runbook-host-${web.host}`);
    expect(dbWorker.output()).toContain(`on ${address} (default): task queues runbook-host-${shop.host};`);
    // The worker deployment on the cluster: the build became current once both machines' workers polled.
    await waitFor(
      async () =>
        expect(webWorker.output() + dbWorker.output()).toContain(
          `worker deployment ${taskQueue}:${BUILD_ID}: now the current version (was unversioned workers)`,
        ),
      60_000,
      500,
    );
    // Temporal's own tables live in the cluster's PostgreSQL, created by setup-schema.sh.
    const databases = await queryColumn(
      process.env.RUNBOOK_TEST_CLUSTER_PG_URL as string,
      "SELECT datname FROM pg_database WHERE datname LIKE 'temporal%' ORDER BY 1",
    );
    expect(databases).toEqual(['temporal', 'temporal_visibility']);
    // Without the client certificate the frontend refuses the CLI, and says so.
    const refused = await runCli(['history'], {
      env: { ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' },
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      `error: cannot connect to Temporal at ${address}: the server requires a client certificate`,
    );
  });

  it('deploys v1, then rolls a broken v2 back by itself', async () => {
    web.stage('v1');
    const first = await runCli(['deploy', web.app, '--ref', 'v1', '--json'], { env, timeoutMs: 180_000 });
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toMatchObject({ kind: 'deploy', outcome: 'succeeded' });
    expect(await web.serving()).toBe('v1');

    web.stage('v2', { behavior: 'http500' });
    const second = await runCli(['deploy', web.app, '--ref', 'v2', '--json'], { env, timeoutMs: 180_000 });
    expect(second.code).toBe(1);
    expect(JSON.parse(second.stdout)).toMatchObject({ kind: 'deploy', outcome: 'rolled_back' });
    expect(await web.serving()).toBe('v1');

    // Visibility on PostgreSQL answers the search attributes the namespace setup registered.
    await waitFor(
      async () => {
        const history = await runCli(['history', '--app', web.app, '--json'], { env });
        const runs = JSON.parse(history.stdout) as Array<{ outcome?: string }>;
        expect(runs.map((r) => r.outcome)).toEqual(['rolled_back', 'succeeded']);
      },
      30_000,
      1_000,
    );
    // Both deploys ran pinned to the build: the cluster's visibility indexes the version.
    const temporal = await connectClient();
    try {
      const query = `TemporalWorkerDeploymentVersion = '${taskQueue}:${BUILD_ID}' AND WorkflowType = 'deploy' AND TemporalWorkflowVersioningBehavior = 'Pinned'`;
      await waitFor(async () => expect((await temporal.client.workflow.count(query)).count).toBe(2), 30_000, 1_000);
    } finally {
      await temporal.close();
    }
  });

  it('backs up a database on the host-only worker', async () => {
    const result = await runCli(['backup', shop.app, '--target', 'db', '--json'], { env, timeoutMs: 180_000 });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ kind: 'backup', outcome: 'succeeded' });
    const catalogue = readCatalogueFile(shop);
    expect(catalogue.entries.filter((e) => e.target === 'db')).toHaveLength(1);
    expect(dbWorker.output()).not.toContain('Error');
  });

  it('applies the manifest schedule and runs it when triggered', async () => {
    const applied = await runCli(['schedule', 'apply', shop.app, '--json'], { env });
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({
      changes: [{ scheduleId: `runbook-${shop.app}-nightly`, change: 'created' }],
    });
    expect((await runCli(['schedule', 'trigger', `${shop.app}/nightly`], { env })).code).toBe(0);
    await waitFor(
      async () => expect(readCatalogueFile(shop).entries.filter((e) => e.target === 'db')).toHaveLength(2),
      120_000,
      1_000,
    );
  });
});
