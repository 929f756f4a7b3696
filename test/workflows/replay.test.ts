import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { WithStartWorkflowOperation, type Client, type WorkflowHandle } from '@temporalio/client';
import { appLockWorkflowId, backupWorkflowId, jobWorkflowId, restoreWorkflowId } from '../../src/common/names';
import type { Progress } from '../../src/common/progress';
import { createBackupApp, type BackupApp } from '../support/backup-app';
import { freePort } from '../../src/devserver/ports';
import { startNginx } from '../../src/devserver/proxy';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { createJobApp, type JobApp } from '../support/job-app';
import { waitFor } from '../support/postgres';
import { runOutcome } from '../support/runs';
import { HISTORIES, saveHistory } from '../support/history';
import { connectClient, startTestWorker, uniqueName } from '../support/temporal';

/*
 * Histories recorded from released workflow code, replayed against today's code: a change that would
 * break a running deploy on upgrade (a reordered or removed command without `patched()`) fails here first.
 * Recording writes only the histories that are missing; a recorded history is never overwritten:
 *   RUNBOOK_RECORD_HISTORIES=1 npx jest test/workflows/replay.test.ts
 * Tests of other workflows record theirs with saveHistory (test/support/history.ts), the same way.
 * Scenarios marked `released` record what an earlier release did, so they run only with that release's
 * workflow bundle: RUNBOOK_RECORD_RELEASED_BUNDLE=/path/to/old/dist/workflow-bundle.js.
 */
const REPLAY = path.resolve(__dirname, '..', '..', 'scripts', 'replay-histories.js');
const bundle = () => process.env.RUNBOOK_WORKFLOW_BUNDLE!;

interface Scenario {
  name: string;
  type: 'deploy' | 'rollback';
  args: (fx: AppFixture) => unknown[];
  stage?: Parameters<AppFixture['stage']>;
  /** Sent with the start, so it arrives before anything else happens. */
  signalWithStart?: string;
  /** An Update sent with the start (update-with-start): it is taken before the first step. */
  updateWithStart?: string;
  /** What an operator does while the run goes on. */
  during?: (handle: WorkflowHandle, fx: AppFixture) => Promise<void>;
  /** Changes the manifest for this run; returns how to put it back. */
  manifest?: (fx: AppFixture) => (() => void) | Promise<() => Promise<void>>;
  /** Recorded with an earlier release's workflow code (see above). */
  released?: boolean;
  /** Against an in-place app (default: a releases app). */
  strategy?: 'in-place';
}

const atStep = (name: string, status: string) => async (handle: WorkflowHandle) =>
  waitFor(async () => {
    const progress = await handle.query<Progress>('progress');
    if (progress.steps.find((s) => s.name === name)?.status !== status) throw new Error(`not at ${name} yet`);
  }, 60_000);

const atState = (state: Progress['state']) => async (handle: WorkflowHandle) =>
  waitFor(async () => {
    if ((await handle.query<Progress>('progress')).state !== state) throw new Error(`not ${state} yet`);
  }, 60_000);

/** A build step that fails until `<dir>/fixed` exists, under onFailure: ask (and a short decision timeout). */
const askOnFailure =
  (options: { skippable?: boolean; decisionTimeout?: string } = {}) =>
  (fx: AppFixture) => {
    const steps = fx.manifest.steps as Record<string, unknown>;
    rmSync(path.join(fx.dir, 'fixed'), { force: true });
    steps.build = [
      {
        name: 'write assets',
        run: [
          'python3',
          '-c',
          'import os, sys\nsys.exit(0 if os.path.exists(sys.argv[1]) else 1)',
          path.join(fx.dir, 'fixed'),
        ],
        ...(options.skippable ? { skippable: true } : {}),
      },
    ];
    Object.assign(fx.manifest, { onFailure: 'ask', decisionTimeout: options.decisionTimeout ?? '1h' });
    fx.save();
    return () => {
      delete steps.build;
      delete fx.manifest.onFailure;
      delete fx.manifest.decisionTimeout;
      fx.save();
    };
  };

/** A bake of a few seconds (the demo app answers 500 after `breakAfter` seconds when staged so). */
const withBake = (fx: AppFixture) => {
  Object.assign(fx.manifest.health as object, { bake: '6s', bakeInterval: '1s' });
  fx.save();
  return () => {
    delete (fx.manifest.health as Record<string, unknown>).bake;
    delete (fx.manifest.health as Record<string, unknown>).bakeInterval;
    fx.save();
  };
};

/** The web service as blue/green behind a real nginx of its own, which the health checks go through. */
const withBlueGreen = async (fx: AppFixture) => {
  const before = structuredClone(fx.manifest);
  const ports = [await freePort(), await freePort()];
  const nginx = await startNginx(ports[0]);
  const [service] = fx.manifest.services as Array<Record<string, unknown>>;
  delete service.port;
  Object.assign(service, {
    start: ['python3', 'app.py', '{{port}}'],
    blueGreen: { ports, proxy: nginx.manifestProxy, check: '/login', drain: '200ms' },
  });
  for (const check of (fx.manifest.health as { checks: Array<{ http?: string }> }).checks)
    if (check.http) check.http = check.http.replace(fx.url(''), nginx.url);
  fx.save();
  return async () => {
    await nginx.stop();
    Object.assign(fx.manifest, before);
    fx.save();
  };
};

const SCENARIOS: Scenario[] = [
  { name: 'deploy-succeeded', type: 'deploy', stage: ['v1'], args: (fx) => [{ app: fx.app, ref: 'v1' }] },
  { name: 'deploy-succeeded-second', type: 'deploy', stage: ['v2'], args: (fx) => [{ app: fx.app, ref: 'v2' }] },
  {
    name: 'deploy-rolled-back',
    type: 'deploy',
    stage: ['v3', { behavior: 'http500' }],
    args: (fx) => [{ app: fx.app, ref: 'v3' }],
  },
  { name: 'rollback', type: 'rollback', args: (fx) => [{ app: fx.app }] },
  {
    // Before approvals became Updates, an approve signal sent before the gate pre-approved the deploy.
    name: 'deploy-approved-early-by-signal-released',
    type: 'deploy',
    released: true,
    stage: ['v4'],
    args: (fx) => [{ app: fx.app, ref: 'v4', requireApproval: true }],
    signalWithStart: 'approve',
  },
  {
    // Now an early signal is ignored; the gate waits for an approve Update.
    name: 'deploy-early-signal-ignored-approved-by-update',
    type: 'deploy',
    stage: ['v5'],
    args: (fx) => [{ app: fx.app, ref: 'v5', requireApproval: true }],
    signalWithStart: 'approve',
    during: async (handle) => {
      await atStep('approval', 'waiting')(handle);
      await handle.executeUpdate('approve');
    },
  },
  {
    name: 'deploy-aborted-by-update',
    type: 'deploy',
    stage: ['v6'],
    args: (fx) => [{ app: fx.app, ref: 'v6', requireApproval: true }],
    during: async (handle) => {
      await atStep('approval', 'waiting')(handle);
      await handle.executeUpdate('abort', { args: ['wrong tenant'] });
    },
  },
  {
    // One run lifecycle (patch one-run-lifecycle): tagged before the manifest loads.
    name: 'deploy-one-lifecycle-succeeded',
    type: 'deploy',
    stage: ['v7'],
    args: (fx) => [{ app: fx.app, ref: 'v7' }],
  },
  {
    name: 'deploy-one-lifecycle-approved-by-update',
    type: 'deploy',
    stage: ['v8'],
    args: (fx) => [{ app: fx.app, ref: 'v8', requireApproval: true }],
    during: async (handle) => {
      await atStep('approval', 'waiting')(handle);
      await handle.executeUpdate('approve');
    },
  },
  {
    name: 'deploy-ask-retried',
    type: 'deploy',
    stage: ['v7'],
    args: (fx) => [{ app: fx.app, ref: 'v7' }],
    manifest: askOnFailure(),
    during: async (handle, fx) => {
      await atState('waiting-decision')(handle);
      writeFileSync(path.join(fx.dir, 'fixed'), 'ok');
      await handle.executeUpdate('retry');
    },
  },
  {
    name: 'deploy-ask-skipped',
    type: 'deploy',
    stage: ['v8'],
    args: (fx) => [{ app: fx.app, ref: 'v8' }],
    manifest: askOnFailure({ skippable: true }),
    during: async (handle) => {
      await atState('waiting-decision')(handle);
      await handle.executeUpdate('skip');
    },
  },
  {
    name: 'deploy-ask-rolled-back-now',
    type: 'deploy',
    stage: ['v9'],
    args: (fx) => [{ app: fx.app, ref: 'v9' }],
    manifest: askOnFailure(),
    during: async (handle) => {
      await atState('waiting-decision')(handle);
      await handle.executeUpdate('rollback-now');
    },
  },
  {
    name: 'deploy-ask-no-decision',
    type: 'deploy',
    stage: ['v10'],
    args: (fx) => [{ app: fx.app, ref: 'v10' }],
    manifest: askOnFailure({ decisionTimeout: '2s' }),
  },
  {
    name: 'deploy-paused-resumed',
    type: 'deploy',
    stage: ['v11'],
    args: (fx) => [{ app: fx.app, ref: 'v11' }],
    updateWithStart: 'pause',
    during: async (handle) => {
      await atState('paused')(handle);
      await handle.executeUpdate('resume');
    },
  },
  {
    name: 'deploy-baked',
    type: 'deploy',
    stage: ['v12'],
    args: (fx) => [{ app: fx.app, ref: 'v12' }],
    manifest: withBake,
  },
  {
    name: 'deploy-bake-failed',
    type: 'deploy',
    stage: ['v13', { behavior: 'http500-after:3' }],
    args: (fx) => [{ app: fx.app, ref: 'v13' }],
    manifest: withBake,
  },
  {
    // Blue/green: started on the idle port, nginx switched, the previous release's process stopped after health.
    name: 'deploy-blue-green-succeeded',
    type: 'deploy',
    stage: ['v-bg1'],
    args: (fx) => [{ app: fx.app, ref: 'v-bg1' }],
    manifest: withBlueGreen,
  },
  {
    // Switched to, then its health fails: nginx switched back to the previous release, the new one stopped.
    name: 'deploy-blue-green-rolled-back',
    type: 'deploy',
    stage: ['v-bg2', { behavior: 'traceback' }],
    args: (fx) => [{ app: fx.app, ref: 'v-bg2' }],
    manifest: withBlueGreen,
  },
  {
    // rollback.auto: false leaves a failed deploy as it is (patched 'rollback-auto-false').
    name: 'deploy-failed-left-as-is',
    type: 'deploy',
    stage: ['v7', { behavior: 'http500' }],
    args: (fx) => [{ app: fx.app, ref: 'v7' }],
    manifest: (fx) => {
      const { rollback } = fx.manifest;
      fx.manifest.rollback = { auto: false };
      fx.save();
      return () => {
        if (rollback === undefined) delete fx.manifest.rollback;
        else fx.manifest.rollback = rollback;
        fx.save();
      };
    },
  },
  // In place: the success path prunes old copies (patched 'in-place-retention'); runbook rollback goes back
  // to an earlier good deploy (patched 'in-place-rollback').
  {
    name: 'deploy-in-place-succeeded',
    type: 'deploy',
    strategy: 'in-place',
    stage: ['v1'],
    args: (fx) => [{ app: fx.app, ref: 'v1' }],
  },
  {
    name: 'deploy-in-place-rolled-back',
    type: 'deploy',
    strategy: 'in-place',
    stage: ['v2', { behavior: 'http500' }],
    args: (fx) => [{ app: fx.app, ref: 'v2' }],
  },
  { name: 'rollback-in-place', type: 'rollback', strategy: 'in-place', args: (fx) => [{ app: fx.app }] },
];

async function withUpdate(
  client: Client,
  type: string,
  options: { taskQueue: string; workflowId: string; args: unknown[] },
  update: string,
): Promise<WorkflowHandle> {
  const startWorkflowOperation = new WithStartWorkflowOperation(type, { ...options, workflowIdConflictPolicy: 'FAIL' });
  await client.workflow.executeUpdateWithStart(update, { startWorkflowOperation });
  return startWorkflowOperation.workflowHandle();
}

/** Runs of the other kinds: a backup and a restore of a real database, jobs of the daily processor. */
interface RunScenario {
  name: string;
  type: 'backup' | 'restore' | 'job';
  workflowId: (apps: RunApps) => string;
  input: (apps: RunApps, client: Client) => Promise<unknown>;
  released?: boolean;
}

interface RunApps {
  shop: BackupApp;
  etl: JobApp;
}

const newestBackup = async (apps: RunApps, client: Client): Promise<string> => {
  const entries = (await client.workflow.execute('backups', {
    taskQueue: apps.shop.app,
    workflowId: uniqueName('replay-backups'),
    args: [{ app: apps.shop.app }],
  })) as Array<{ id: string }>;
  return entries[0].id;
};

const RUN_SCENARIOS: RunScenario[] = [
  {
    name: 'backup-succeeded',
    type: 'backup',
    workflowId: ({ shop }) => backupWorkflowId(shop.app, 'db', 'replay'),
    input: async ({ shop }) => ({ app: shop.app, target: 'db' }),
  },
  {
    name: 'restore-succeeded',
    type: 'restore',
    workflowId: ({ shop }) => restoreWorkflowId(shop.app, 'replay'),
    input: async (apps, client) => ({ app: apps.shop.app, backup: await newestBackup(apps, client) }),
  },
  {
    // Released before one run lifecycle: tagged once planned, no deploy-log line.
    name: 'job-succeeded',
    released: true,
    type: 'job',
    workflowId: ({ etl }) => jobWorkflowId(etl.app, 'daily-processor', 'replay-ok'),
    input: async ({ etl }) => ({ app: etl.app, job: 'daily-processor', date: '2025-12-01', mode: 'auto' }),
  },
  {
    name: 'job-failed',
    released: true,
    type: 'job',
    workflowId: ({ etl }) => jobWorkflowId(etl.app, 'daily-processor', 'replay-failed'),
    input: async ({ etl }) => ({
      app: etl.app,
      job: 'daily-processor',
      from: '2025-12-01',
      to: '2025-12-02',
      mode: 'auto',
    }),
  },
  {
    // One run lifecycle (patch one-run-lifecycle): tagged first, a deploy-log line at the end.
    name: 'job-one-lifecycle-failed',
    type: 'job',
    workflowId: ({ etl }) => jobWorkflowId(etl.app, 'daily-processor', 'lifecycle'),
    input: async ({ etl }) => ({
      app: etl.app,
      job: 'daily-processor',
      from: '2025-12-01',
      to: '2025-12-02',
      mode: 'auto',
    }),
  },
];

async function recordMissingRuns(client: Client): Promise<string[]> {
  const released = process.env.RUNBOOK_RECORD_RELEASED_BUNDLE;
  const missing = RUN_SCENARIOS.filter((s) => !existsSync(path.join(HISTORIES, `${s.name}.json`))).filter(
    (s) => Boolean(s.released) === Boolean(released),
  );
  if (missing.length === 0) return [];
  const previousBundle = process.env.RUNBOOK_WORKFLOW_BUNDLE;
  if (released) process.env.RUNBOOK_WORKFLOW_BUNDLE = released;
  const shop = await createBackupApp({ prefix: 'replay-shop' });
  const etl = createJobApp({
    app: uniqueName('replay-etl'),
    host: uniqueName('etl'),
    failDates: ['2025-12-02'],
    manifestsDir: shop.manifestsDir,
  });
  const apps = { shop, etl };
  const worker = await startTestWorker({
    taskQueue: shop.app,
    hosts: [shop.host, etl.host],
    activities: { manifestsDir: shop.manifestsDir, env: { ...process.env, ...shop.env } },
  });
  try {
    // A verified backup to restore, whether or not the backup scenario is recorded now.
    await client.workflow.execute('backup', {
      taskQueue: shop.app,
      workflowId: backupWorkflowId(shop.app, 'db', uniqueName('base')),
      args: [{ app: shop.app, target: 'db' }],
    });
    for (const scenario of missing) {
      const handle = await client.workflow.start(scenario.type, {
        taskQueue: shop.app,
        workflowId: scenario.workflowId(apps),
        args: [await scenario.input(apps, client)],
      });
      await runOutcome(client, handle.workflowId);
      saveHistory(scenario.name, handle.workflowId, handle.firstExecutionRunId);
    }
    return missing.map((s) => s.name);
  } finally {
    await worker.stop();
    process.env.RUNBOOK_WORKFLOW_BUNDLE = previousBundle;
    rmSync(shop.root, { recursive: true, force: true });
    rmSync(etl.dir, { recursive: true, force: true });
  }
}

async function recordMissing(client: Client): Promise<string[]> {
  const released = process.env.RUNBOOK_RECORD_RELEASED_BUNDLE;
  const missing = SCENARIOS.filter((s) => !existsSync(path.join(HISTORIES, `${s.name}.json`))).filter(
    (s) => Boolean(s.released) === Boolean(released),
  );
  const recorded: string[] = [];
  for (const strategy of ['releases', 'in-place'] as const) {
    const scenarios = missing.filter((s) => (s.strategy ?? 'releases') === strategy);
    if (scenarios.length > 0) recorded.push(...(await recordScenarios(client, scenarios, strategy, released)));
  }
  return recorded;
}

async function recordScenarios(
  client: Client,
  missing: Scenario[],
  strategy: 'releases' | 'in-place',
  released: string | undefined,
): Promise<string[]> {
  const previousBundle = process.env.RUNBOOK_WORKFLOW_BUNDLE;
  if (released) process.env.RUNBOOK_WORKFLOW_BUNDLE = released;
  const fx = await createAppFixture({ name: 'replay', strategy });
  const worker = await startTestWorker({
    taskQueue: fx.taskQueue,
    hosts: [fx.host],
    activities: { manifestsDir: fx.manifestsDir },
  });
  try {
    // A good release to go back to, so every recorded deploy has a previous version.
    fx.stage('v0');
    const base = await client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: 'v0' }],
    });
    await runOutcome(client, base.workflowId);
    for (const scenario of missing) {
      if (scenario.stage) fx.stage(...scenario.stage);
      const restore = await scenario.manifest?.(fx);
      const options = { taskQueue: fx.taskQueue, workflowId: appLockWorkflowId(fx.app), args: scenario.args(fx) };
      const handle = scenario.signalWithStart
        ? await client.workflow.signalWithStart(scenario.type, {
            ...options,
            signal: scenario.signalWithStart,
            signalArgs: [],
          })
        : scenario.updateWithStart
          ? await withUpdate(client, scenario.type, options, scenario.updateWithStart)
          : await client.workflow.start(scenario.type, options);
      await scenario.during?.(handle, fx);
      await runOutcome(client, handle.workflowId);
      await restore?.();
      const { runId } = await handle.describe();
      saveHistory(scenario.name, handle.workflowId, runId);
    }
    return missing.map((s) => s.name);
  } finally {
    await worker.stop();
    await fx.cleanup();
    process.env.RUNBOOK_WORKFLOW_BUNDLE = previousBundle;
  }
}

describe('replaying recorded histories against the current workflow code', () => {
  if (process.env.RUNBOOK_RECORD_HISTORIES) {
    it('records the scenarios whose history is missing, never overwriting one', async () => {
      const temporal = await connectClient();
      try {
        const recorded = [...(await recordMissing(temporal.client)), ...(await recordMissingRuns(temporal.client))];
        process.stdout.write(`recorded: ${recorded.join(', ') || 'nothing (all present)'}\n`);
      } finally {
        await temporal.close();
      }
    }, 600_000);
  }

  const files = existsSync(HISTORIES) ? readdirSync(HISTORIES).filter((f) => f.endsWith('.json')) : [];
  it('has a recorded history for every scenario', () => {
    expect([...SCENARIOS, ...RUN_SCENARIOS].map((s) => `${s.name}.json`).filter((f) => !files.includes(f))).toEqual([]);
  });

  it('replays every recorded history without a nondeterminism error', () => {
    expect(files.length).toBeGreaterThanOrEqual(SCENARIOS.length + RUN_SCENARIOS.length);
    // Replay runs in its own process: Jest's module registry would load a second protobufjs.
    const run = spawnSync(process.execPath, [REPLAY, HISTORIES], {
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
