import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { appLockWorkflowId } from '../../src/common/names';
import type { Progress } from '../../src/common/progress';
import { runCli } from '../support/cli';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { waitFor } from '../support/postgres';
import { runOutcome } from '../support/runs';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

/**
 * Fix and resume: under `onFailure: ask` a step that fails waits for an operator instead of rolling back, and
 * the operator retries it (after fixing the host), skips it, or rolls back; nobody deciding rolls back. Also a
 * pause between steps. Real dev server, real app processes, the built CLI; the scenarios run side by side.
 */
describe('deploy with onFailure: ask (real app processes)', () => {
  const manifestsDir = mkdtempSync(path.join(os.tmpdir(), 'runbook-decisions-'));
  const taskQueue = uniqueName('decisions-q');
  const env = { RUNBOOK_TASK_QUEUE: taskQueue, RUNBOOK_MANIFESTS: manifestsDir };
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let worker: TestWorker;
  let webhook: HttpRecorder;
  const apps: Record<'retry' | 'skip' | 'rollback' | 'timeout' | 'pause', AppFixture> = {} as never;

  beforeAll(async () => {
    [temporal, webhook] = await Promise.all([connectClient(), startHttpRecorder(() => ({ status: 200 }))]);
    for (const name of ['retry', 'skip', 'rollback', 'timeout', 'pause'] as const)
      apps[name] = await createAppFixture({ name: `ask-${name}`, manifestsDir });
    worker = await startTestWorker({
      taskQueue,
      hosts: Object.values(apps).map((fx) => fx.host),
      activities: { manifestsDir, env: { ...process.env, DECISIONS_WEBHOOK_URL: `${webhook.url}/hooks` } },
    });
    // A good release to go back to, for each app.
    await Promise.all(Object.values(apps).map((fx) => deploy(fx, 'v1').then(({ end }) => end)));
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    for (const fx of Object.values(apps)) await fx.cleanup();
    rmSync(manifestsDir, { recursive: true, force: true });
    await Promise.all([temporal?.close(), webhook?.close()]);
  });

  async function deploy(fx: AppFixture, version: string) {
    fx.stage(version);
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: version }],
    });
    return { handle, end: runOutcome(temporal.client, handle.workflowId) };
  }

  /** A build step that fails ("disk full") until a file appears, counting its runs; the app asks on failure. */
  function failUntilFixed(fx: AppFixture, options: { skippable?: boolean; decisionTimeout?: string } = {}) {
    const fixed = path.join(fx.dir, 'disk-fixed');
    const runs = path.join(fx.dir, 'step-runs');
    const steps = fx.manifest.steps as Record<string, unknown[]>;
    steps.build = [
      {
        name: 'write assets',
        run: [
          'python3',
          '-c',
          [
            'import os, sys',
            'open(sys.argv[1], "a").write("run\\n")',
            'if not os.path.exists(sys.argv[2]):',
            '    print("cp: error writing static/app.css: No space left on device", file=sys.stderr)',
            '    sys.exit(1)',
          ].join('\n'),
          runs,
          fixed,
        ],
        ...(options.skippable ? { skippable: true } : {}),
      },
    ];
    fx.manifest.onFailure = 'ask';
    if (options.decisionTimeout) fx.manifest.decisionTimeout = options.decisionTimeout;
    fx.manifest.notify = { on: ['waiting'], channels: [{ webhook: { urlEnv: 'DECISIONS_WEBHOOK_URL' } }] };
    fx.save();
    return {
      fix: () => writeFileSync(fixed, 'ok\n'),
      runs: () => (existsSync(runs) ? readFileSync(runs, 'utf8').trim().split('\n').length : 0),
    };
  }

  const waitingFor = (handle: WorkflowHandle, state: Progress['state']) =>
    waitFor(
      async () => {
        const progress = await handle.query<Progress>('progress');
        if (progress.state !== state) throw new Error(`state ${progress.state}, not ${state}`);
      },
      60_000,
      200,
    ).then(() => handle.query<Progress>('progress'));

  it('retry after fixing the host: the deploy waits, then finishes; the step ran exactly twice', async () => {
    const fx = apps.retry;
    const step = failUntilFixed(fx);
    const { handle, end } = await deploy(fx, 'v2');
    const waiting = await waitingFor(handle, 'waiting-decision');
    expect(waiting.waiting).toMatchObject({
      for: 'decision',
      step: 'build: write assets',
      accepts: ['retry', 'rollback-now'],
      onTimeout: 'roll back',
      error: expect.stringMatching(/^build step 'write assets' exited with status 1:?$/),
      outputTail: 'cp: error writing static/app.css: No space left on device',
    });
    expect(waiting.steps.find((s) => s.name === 'build: write assets')?.status).toBe('failed');
    // The Web UI's current details say the same, with the Updates to send.
    const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain('**waiting for a decision** at `build: write assets`');
    expect(metadata.currentDetails).toContain('No space left on device');
    expect(metadata.currentDetails).toContain('Send Update: `retry`, `rollback-now`');
    // So does the status page, with the commands; and on-call got a message.
    const status = await runCli(['status', handle.workflowId], { env });
    expect(status.stdout).toMatch(
      /waiting for a decision on build: write assets until \d\d:\d\d:\d\dZ \(then it will roll back\):\n {4}error: build step 'write assets' exited with status 1:?\n {4}\| cp: error writing static\/app.css: No space left on device\n {4}runbook retry deploy-\S+ {2}\| {2}runbook rollback-now deploy-\S+\n/,
    );
    const [message] = await webhook.waitForRequests(1);
    expect(JSON.parse(message.body)).toMatchObject({
      event: 'deploy.waiting',
      title: `${fx.app}: deploy v2 WAITING FOR A DECISION`,
    });
    expect(message.body).toContain(`runbook retry|skip|rollback-now ${handle.workflowId}`);
    expect(await fx.serving()).toBe('v1');

    const refusedSkip = await runCli(['skip', handle.workflowId], { env });
    expect(refusedSkip.code).toBe(2);
    expect(refusedSkip.stderr).toContain(
      'error: skip refused: build: write assets may not be skipped: the manifest does not mark it skippable',
    );

    step.fix();
    const retried = await runCli(['retry', handle.workflowId], { env });
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toContain(
      `retry ${handle.workflowId} (build: write assets): running build: write assets again`,
    );
    const { report } = await end;
    expect(report.outcome).toBe('succeeded');
    expect(step.runs()).toBe(2);
    expect(report.steps.find((s) => s.name === 'build: write assets')?.status).toBe('succeeded');
    expect(await fx.serving()).toBe('v2');
  }, 180_000);

  it('skip a skippable step: the deploy goes on without it', async () => {
    const fx = apps.skip;
    const step = failUntilFixed(fx, { skippable: true });
    const { handle, end } = await deploy(fx, 'v2');
    const waiting = await waitingFor(handle, 'waiting-decision');
    expect(waiting.waiting?.accepts).toEqual(['retry', 'skip', 'rollback-now']);
    const skipped = await runCli(['skip', handle.workflowId, '--json'], { env });
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({
      update: 'skip',
      step: 'build: write assets',
      message: 'going on without build: write assets',
    });
    const { report } = await end;
    expect(report.outcome).toBe('succeeded');
    expect(step.runs()).toBe(1);
    expect(report.steps.find((s) => s.name === 'build: write assets')).toMatchObject({
      status: 'skipped',
      message: "skipped by an operator after: build step 'write assets' exited with status 1:",
    });
    expect(await fx.serving()).toBe('v2');
  }, 180_000);

  it('rollback-now undoes at once; the previous version serves', async () => {
    const fx = apps.rollback;
    const step = failUntilFixed(fx);
    const { handle, end } = await deploy(fx, 'v2');
    await waitingFor(handle, 'waiting-decision');
    const decided = await runCli(['rollback-now', handle.workflowId], { env });
    expect(decided.code).toBe(0);
    const { report } = await end;
    expect(report.outcome).toBe('rolled_back');
    expect(report.error).toMatch(/^rolled back by an operator after: build step 'write assets' exited with status 1/);
    expect(step.runs()).toBe(1);
    expect(await fx.serving()).toBe('v1');
    const late = await runCli(['retry', handle.workflowId], { env });
    expect(late.code).toBe(2);
    expect(late.stderr).toContain('is not running');
  }, 180_000);

  it('no decision before the timeout rolls back', async () => {
    const fx = apps.timeout;
    failUntilFixed(fx, { decisionTimeout: '4s' });
    const { handle, end } = await deploy(fx, 'v2');
    await waitingFor(handle, 'waiting-decision');
    const { report } = await end;
    expect(report.outcome).toBe('rolled_back');
    expect(report.error).toMatch(/^no decision within 4s after: build step 'write assets' exited with status 1/);
    expect(await fx.serving()).toBe('v1');
  }, 180_000);

  it('pause holds the deploy before its next step until resume; decisions it is not waiting for are refused', async () => {
    const fx = apps.pause;
    const go = path.join(fx.dir, 'go');
    (fx.manifest.steps as Record<string, unknown[]>).build = [
      {
        name: 'wait for the test',
        run: ['python3', '-c', 'import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.1)', go],
      },
    ];
    fx.save();
    const { handle, end } = await deploy(fx, 'v2');
    await waitFor(
      async () => {
        const progress = await handle.query<Progress>('progress');
        if (progress.steps.find((s) => s.name === 'build: wait for the test')?.status !== 'running')
          throw new Error('not there yet');
      },
      60_000,
      200,
    );
    const notWaiting = await runCli(['retry', handle.workflowId], { env });
    expect(notWaiting.code).toBe(2);
    expect(notWaiting.stderr).toContain(
      `error: retry refused: ${handle.workflowId} is not waiting for a decision (now: build: wait for the test, running)`,
    );
    const notPaused = await runCli(['resume', handle.workflowId], { env });
    expect(notPaused.code).toBe(2);
    expect(notPaused.stderr).toContain(`error: resume refused: ${handle.workflowId} is not paused`);

    const paused = await runCli(['pause', handle.workflowId], { env });
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('pausing before the next step (build: wait for the test finishes first)');
    const twice = await runCli(['pause', handle.workflowId], { env });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('is already pausing before its next step');

    writeFileSync(go, 'go\n');
    const held = await waitingFor(handle, 'paused');
    expect(held.waiting).toMatchObject({ for: 'resume', step: 'stop services', accepts: ['resume'] });
    expect(held.steps.find((s) => s.name === 'stop services')?.status).toBe('pending');
    expect(await fx.serving()).toBe('v1');
    const status = await runCli(['status', handle.workflowId], { env });
    expect(status.stdout).toMatch(
      /paused before stop services until \S+ \(then it will roll back\): runbook resume deploy-\S+ {2}\(or runbook cancel deploy-\S+\)/,
    );

    const resumed = await runCli(['resume', handle.workflowId], { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resumed: stop services starts now');
    expect((await end).report.outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v2');
  }, 180_000);
});
