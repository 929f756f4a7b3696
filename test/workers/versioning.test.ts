import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { appLockWorkflowId } from '../../src/common/names';
import { runCli } from '../support/cli';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { waitFor } from '../support/postgres';
import { connectClient, uniqueName } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(300_000);

const Behavior = temporal.api.enums.v1.VersioningBehavior;

/** Who ran a run: the build id and worker identity of each workflow task, the identity of each activity. */
async function whoRan(client: Client, workflowId: string, runId?: string) {
  const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const tasks = (events ?? [])
    .map((e) => e.workflowTaskCompletedEventAttributes)
    .filter((a) => a != null)
    .map((a) => ({ buildId: a.deploymentVersion?.buildId, identity: a.identity }));
  const activities = (events ?? [])
    .map((e) => e.activityTaskStartedEventAttributes?.identity)
    .filter((i): i is string => Boolean(i));
  // Version B's change (upgraded-workflows.ts): a 10 ms timer before the deploy.
  const changed = (events ?? []).filter(
    (e) => Number(e.timerStartedEventAttributes?.startToFireTimeout?.nanos) === 10_000_000,
  ).length;
  return { tasks, activities, changed };
}

/**
 * Upgrading Runbook while a deploy runs (docs/production.md): a deploy waits at its approval gate on version A;
 * a worker of version B, whose deploy workflow changed, starts and becomes current; the deploy is approved and
 * completes on A's workers; a new deploy runs on B. Real worker processes, the dev server's Worker Versioning.
 */
describe('upgrading Runbook with Worker Versioning', () => {
  const taskQueue = uniqueName('versions');
  const identityOf = (worker: WorkerProcess) => `${worker.child.pid}@${os.hostname()}`;
  let fx: AppFixture;
  let bundleDir: string;
  let a: WorkerProcess | undefined;
  let b: WorkerProcess | undefined;
  let bHost: WorkerProcess | undefined;
  let temporalClient: Awaited<ReturnType<typeof connectClient>>;
  let env: Record<string, string>;
  let jobRelease: string;

  beforeAll(async () => {
    fx = await createAppFixture({ name: 'upgraded' });
    fx.manifest.approval = { required: true, timeout: '10m' };
    // A job that runs until the test lets it finish: in flight while the upgrade happens.
    const script = path.join(fx.dir, 'wait-for-release.js');
    writeFileSync(
      script,
      `const fs = require('node:fs');
fs.writeFileSync(process.argv[2] + '.started', '');
const poll = setInterval(() => fs.existsSync(process.argv[2]) && clearInterval(poll), 100);
`,
    );
    jobRelease = path.join(fx.dir, 'job-release');
    fx.manifest.jobs = [{ name: 'nightly', run: [process.execPath, script, jobRelease], cwd: fx.dir, retries: 0 }];
    fx.save();
    env = { RUNBOOK_TASK_QUEUE: taskQueue, RUNBOOK_MANIFESTS: fx.manifestsDir };
    temporalClient = await connectClient();
    bundleDir = mkdtempSync(path.join(os.tmpdir(), 'runbook-version-b-'));
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await bHost?.stop();
    await temporalClient?.close();
    await fx?.cleanup();
    rmSync(bundleDir, { recursive: true, force: true });
  });

  it('finishes a deploy pinned to version A after version B becomes current; a new deploy runs on B', async () => {
    const { client } = temporalClient;
    const workflowId = appLockWorkflowId(fx.app);
    const worker = (buildId: string, options: { hosts?: string[]; orchestrate?: boolean; bundle?: string } = {}) =>
      startWorkerProcess({
        taskQueue,
        hosts: options.hosts ?? [fx.host],
        orchestrate: options.orchestrate,
        manifestsDir: fx.manifestsDir,
        env: { RUNBOOK_BUILD_ID: buildId, ...(options.bundle ? { RUNBOOK_WORKFLOW_BUNDLE: options.bundle } : {}) },
      });
    const becameCurrent = (buildId: string, ...workers: WorkerProcess[]) =>
      waitFor(
        async () =>
          expect(workers.map((w) => w.output()).join('')).toContain(
            `worker deployment ${taskQueue}:${buildId}: now the current version`,
          ),
        60_000,
        200,
      );
    const atApprovalGate = () =>
      waitFor(
        async () => {
          const status = await runCli(['status', workflowId, '--json'], { env });
          const { progress } = JSON.parse(status.stdout) as {
            progress?: { steps: Array<{ name: string; status: string }> };
          };
          expect(progress?.steps.find((s) => s.name === 'approval')?.status).toBe('waiting');
        },
        90_000,
        300,
      );
    const pinnedTo = (buildId: string) =>
      client.workflow.count(
        `TemporalWorkerDeploymentVersion = '${taskQueue}:${buildId}' AND ExecutionStatus = 'Running'`,
      );

    // Version B: the same Runbook with a changed deploy workflow, bundled as its installation would be.
    const bundleB = path.join(bundleDir, 'workflow-bundle.js');
    const bundled = bundleWorkflowCode({
      workflowsPath: require.resolve('../support/upgraded-workflows'),
      logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
    }).then(({ code }) => writeFileSync(bundleB, code));

    a = await worker('0.1.0');
    await becameCurrent('0.1.0', a);
    expect(a.output()).toContain(`now the current version (was unversioned workers)`);

    fx.stage('v1');
    const started = await runCli(['deploy', fx.app, '--ref', 'v1', '--no-wait', '--json'], { env });
    expect(started.code).toBe(0);
    const { runId } = JSON.parse(started.stdout) as { runId: string };
    await atApprovalGate();

    await waitFor(async () => expect((await pinnedTo('0.1.0')).count).toBe(1), 30_000, 500);
    const job = await client.workflow.start('job', {
      taskQueue,
      workflowId: uniqueName('nightly'),
      args: [{ app: fx.app, job: 'nightly' }],
    });
    await waitFor(async () => expect(existsSync(`${jobRelease}.started`)).toBe(true), 60_000, 200);

    // Version B on two machines: the orchestration worker first; the server refuses to make 0.2.0 current
    // while the app's host queue has no 0.2.0 poller, until the host-only worker of 0.2.0 starts.
    await bundled;
    b = await worker('0.2.0', { hosts: [], bundle: bundleB });
    await waitFor(async () => expect(b?.output()).toMatch(/0\.2\.0: not current yet: .*retrying/), 30_000, 200);
    bHost = await worker('0.2.0', { orchestrate: false, bundle: bundleB });
    await becameCurrent('0.2.0', b, bHost);
    expect(b.output() + bHost.output()).toContain('now the current version (was 0.1.0)');

    // The job started on 0.1.0 moves to 0.2.0 at its next step (auto-upgrade); the pinned deploy does not.
    writeFileSync(jobRelease, '');
    await job.result();
    const moved = await whoRan(client, job.workflowId);
    expect(moved.tasks[0].buildId).toBe('0.1.0');
    expect(moved.tasks.at(-1)).toEqual({ buildId: '0.2.0', identity: identityOf(b) });
    expect((await job.describe()).raw.workflowExecutionInfo?.versioningInfo?.behavior).toBe(
      Behavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE,
    );

    expect((await runCli(['approve', workflowId], { env })).code).toBe(0);
    await expect(client.workflow.getHandle(workflowId, runId).result()).resolves.toMatchObject({
      outcome: 'succeeded',
      ref: 'v1',
    });
    const pinned = await whoRan(client, workflowId, runId);
    expect(pinned.changed).toBe(0);
    expect(new Set(pinned.tasks.map((t) => `${t.buildId} ${t.identity}`))).toEqual(new Set([`0.1.0 ${identityOf(a)}`]));
    expect(new Set(pinned.activities)).toEqual(new Set([identityOf(a)]));
    const { workflowExecutionInfo } = await client.workflowService.describeWorkflowExecution({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
    });
    expect(workflowExecutionInfo?.versioningInfo?.behavior).toBe(Behavior.VERSIONING_BEHAVIOR_PINNED);
    expect(workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId).toBe('0.1.0');
    await waitFor(async () => expect((await pinnedTo('0.1.0')).count).toBe(0), 30_000, 500);

    // systemd restarts a crashed 0.1.0 worker: a version that was current does not take over again.
    await a.kill();
    a = await worker('0.1.0');
    await waitFor(
      async () =>
        expect(a?.output()).toContain(
          `worker deployment ${taskQueue}:0.1.0: was current before, not taking over from 0.2.0`,
        ),
      30_000,
      200,
    );

    fx.stage('v2');
    const next = await runCli(['deploy', fx.app, '--ref', 'v2', '--no-wait', '--json'], { env });
    expect(next.code).toBe(0);
    const nextRun = (JSON.parse(next.stdout) as { runId: string }).runId;
    await atApprovalGate();
    // Version A has nothing left to run: stopping it is the last step of the upgrade.
    await a.stop();
    expect((await runCli(['approve', workflowId], { env })).code).toBe(0);
    await expect(client.workflow.getHandle(workflowId, nextRun).result()).resolves.toMatchObject({
      outcome: 'succeeded',
      ref: 'v2',
    });
    expect(await fx.serving()).toBe('v2');
    const upgraded = await whoRan(client, workflowId, nextRun);
    expect(upgraded.changed).toBe(1);
    expect(new Set(upgraded.tasks.map((t) => `${t.buildId} ${t.identity}`))).toEqual(
      new Set([`0.2.0 ${identityOf(b)}`]),
    );
    // Orchestration activities on the orchestration worker, the app's steps on its host's worker, both 0.2.0.
    expect(new Set(upgraded.activities)).toEqual(new Set([identityOf(b), identityOf(bHost)]));
  });
});
