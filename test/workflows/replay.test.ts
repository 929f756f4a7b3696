import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { appLockWorkflowId, backupWorkflowId, jobWorkflowId, restoreWorkflowId } from '../../src/common/names';
import { createBackupApp } from '../support/backup-app';
import { createJobApp } from '../support/job-app';
import { createAppFixture } from '../support/demo-app';
import { runOutcome } from '../support/runs';
import { resolveTemporalCli } from '../../src/devserver/temporal-cli';
import { connectClient, startTestWorker, temporalAddress, uniqueName } from '../support/temporal';

/*
 * Histories recorded from released workflow code, replayed against today's code: a change that would
 * break a running deploy on upgrade (a reordered or removed command without `patched()`) fails here first.
 * Record them again only for a deliberate, versioned change:
 *   RUNBOOK_RECORD_HISTORIES=1 npx jest test/workflows/replay.test.ts
 * Recording writes only histories not recorded yet: a recorded one is never changed.
 */
const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'histories');
const REPLAY = path.resolve(__dirname, '..', '..', 'scripts', 'replay-histories.js');
const bundle = () => process.env.RUNBOOK_WORKFLOW_BUNDLE!;

describe('replaying recorded histories against the current workflow code', () => {
  if (process.env.RUNBOOK_RECORD_HISTORIES) {
    /** Writes a finished run's history as the Temporal CLI shows it; a history already recorded is kept. */
    const recordHistory = async (name: string, workflowId: string, runId: string) => {
      const file = path.join(FIXTURES, `${name}.json`);
      if (existsSync(file)) return;
      // The Temporal CLI writes histories in the proto3 JSON form that historyFromJSON reads.
      const cli = resolveTemporalCli();
      if (cli.kind !== 'path') throw new Error('recording needs the Temporal CLI (make setup)');
      const json = execFileSync(cli.path, [
        'workflow',
        'show',
        '--address',
        temporalAddress(),
        '--workflow-id',
        workflowId,
        '--run-id',
        runId,
        '--output',
        'json',
      ]);
      writeFileSync(file, json);
    };

    it('records successful deploys, a rolled-back deploy and a rollback', async () => {
      const fx = await createAppFixture({ name: 'replay' });
      const worker = await startTestWorker({
        taskQueue: fx.taskQueue,
        hosts: [fx.host],
        activities: { manifestsDir: fx.manifestsDir },
      });
      const temporal = await connectClient();
      try {
        const record = async (name: string, type: string, args: unknown[]) => {
          const handle = await temporal.client.workflow.start(type, {
            taskQueue: fx.taskQueue,
            workflowId: appLockWorkflowId(fx.app),
            args,
          });
          await runOutcome(temporal.client, handle.workflowId);
          await recordHistory(name, handle.workflowId, handle.firstExecutionRunId);
        };
        fx.stage('v1');
        await record('deploy-succeeded', 'deploy', [{ app: fx.app, ref: 'v1' }]);
        fx.stage('v2');
        await record('deploy-succeeded-second', 'deploy', [{ app: fx.app, ref: 'v2' }]);
        fx.stage('v3', { behavior: 'http500' });
        await record('deploy-rolled-back', 'deploy', [{ app: fx.app, ref: 'v3' }]);
        await record('rollback', 'rollback', [{ app: fx.app }]);
        // Since one run lifecycle (patch one-run-lifecycle): tags before the manifest loads.
        fx.stage('v4');
        await record('deploy-one-lifecycle-succeeded', 'deploy', [{ app: fx.app, ref: 'v4' }]);
      } finally {
        await worker.stop();
        await temporal.close();
        await fx.cleanup();
      }
    });

    it('records a backup, a restore, a job that succeeded and jobs with a failed date', async () => {
      const shop = await createBackupApp({ prefix: 'replay-shop' });
      const etl = createJobApp({
        app: uniqueName('replay-etl'),
        host: uniqueName('etl'),
        failDates: ['2025-12-02'],
        manifestsDir: shop.manifestsDir,
      });
      const taskQueue = uniqueName('replay');
      const worker = await startTestWorker({
        taskQueue,
        hosts: [shop.host, etl.host],
        activities: { manifestsDir: shop.manifestsDir, env: { ...process.env, ...shop.env } },
      });
      const temporal = await connectClient();
      try {
        const record = async (name: string, type: string, workflowId: string, input: object) => {
          const handle = await temporal.client.workflow.start(type, { taskQueue, workflowId, args: [input] });
          const { report } = await runOutcome(temporal.client, handle.workflowId);
          await recordHistory(name, workflowId, handle.firstExecutionRunId);
          return report;
        };
        const backup = await record('backup-succeeded', 'backup', backupWorkflowId(shop.app, 'db', 'replay'), {
          app: shop.app,
          target: 'db',
        });
        const artifacts = (backup.details as { artifacts: Array<{ id: string }> }).artifacts;
        await record('restore-succeeded', 'restore', restoreWorkflowId(shop.app, 'replay'), {
          app: shop.app,
          backup: artifacts[0].id,
        });
        await record('job-succeeded', 'job', jobWorkflowId(etl.app, 'daily-processor', 'replay-ok'), {
          app: etl.app,
          job: 'daily-processor',
          date: '2025-12-01',
          mode: 'auto',
        });
        await record('job-failed', 'job', jobWorkflowId(etl.app, 'daily-processor', 'replay-failed'), {
          app: etl.app,
          job: 'daily-processor',
          from: '2025-12-01',
          to: '2025-12-02',
          mode: 'auto',
        });
        // Since one run lifecycle (patch one-run-lifecycle): tags first, a deploy-log line at the end.
        await record('job-one-lifecycle-failed', 'job', jobWorkflowId(etl.app, 'daily-processor', 'lifecycle'), {
          app: etl.app,
          job: 'daily-processor',
          from: '2025-12-01',
          to: '2025-12-02',
          mode: 'auto',
        });
      } finally {
        await worker.stop();
        await temporal.close();
        rmSync(shop.root, { recursive: true, force: true });
        rmSync(etl.dir, { recursive: true, force: true });
      }
    });
  }

  const files = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith('.json')) : [];
  it('replays every recorded history without a nondeterminism error', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
    // Replay runs in its own process: Jest's module registry would load a second protobufjs.
    const run = spawnSync(process.execPath, [REPLAY, FIXTURES], {
      env: { ...process.env, RUNBOOK_WORKFLOW_BUNDLE: bundle() },
      encoding: 'utf8',
    });
    const results = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { file: string; ok: boolean; error?: string });
    expect(results.map((r) => r.file).sort()).toEqual([...files].sort());
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(run.status).toBe(0);
  });
});
