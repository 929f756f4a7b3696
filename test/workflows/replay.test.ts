import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture } from '../support/demo-app';
import { runOutcome } from '../support/runs';
import { resolveTemporalCli } from '../../src/devserver/temporal-cli';
import { connectClient, startTestWorker, temporalAddress } from '../support/temporal';

/*
 * Histories recorded from released workflow code, replayed against today's code: a change that would
 * break a running deploy on upgrade (a reordered or removed command without `patched()`) fails here first.
 * Record them again only for a deliberate, versioned change:
 *   RUNBOOK_RECORD_HISTORIES=1 npx jest test/workflows/replay.test.ts
 */
const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'histories');
const REPLAY = path.resolve(__dirname, '..', '..', 'scripts', 'replay-histories.js');
const bundle = () => process.env.RUNBOOK_WORKFLOW_BUNDLE!;

describe('replaying recorded histories against the current workflow code', () => {
  if (process.env.RUNBOOK_RECORD_HISTORIES) {
    it('records a successful deploy, a rolled-back deploy and a rollback', async () => {
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
          // The Temporal CLI writes histories in the proto3 JSON form that historyFromJSON reads.
          const cli = resolveTemporalCli();
          if (cli.kind !== 'path') throw new Error('recording needs the Temporal CLI (make setup)');
          const { runId } = await handle.describe();
          const json = execFileSync(cli.path, [
            'workflow',
            'show',
            '--address',
            temporalAddress(),
            '--workflow-id',
            handle.workflowId,
            '--run-id',
            runId,
            '--output',
            'json',
          ]);
          writeFileSync(path.join(FIXTURES, `${name}.json`), json);
        };
        fx.stage('v1');
        await record('deploy-succeeded', 'deploy', [{ app: fx.app, ref: 'v1' }]);
        fx.stage('v2');
        await record('deploy-succeeded-second', 'deploy', [{ app: fx.app, ref: 'v2' }]);
        fx.stage('v3', { behavior: 'http500' });
        await record('deploy-rolled-back', 'deploy', [{ app: fx.app, ref: 'v3' }]);
        await record('rollback', 'rollback', [{ app: fx.app }]);
      } finally {
        await worker.stop();
        await temporal.close();
        await fx.cleanup();
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
