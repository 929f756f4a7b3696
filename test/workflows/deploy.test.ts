import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { type DeployInput } from '../../src/common/contracts';
import { appLockWorkflowId } from '../../src/common/names';
import type { Progress } from '../../src/common/progress';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { historyText } from '../support/history';
import { runOutcome, type RunOutcome } from '../support/runs';
import { waitFor } from '../support/postgres';
import { connectClient, startTestWorker, type TestWorker } from '../support/temporal';

describe('deploy (releases strategy, real app processes, real dev server)', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    temporal = await connectClient();
  });
  afterAll(async () => temporal?.close());

  beforeEach(async () => {
    fx = await createAppFixture();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir, env: { ...process.env, DEMO_SECRET: 'tiramisu-7f3a9c1e' } },
    });
  });
  afterEach(async () => {
    await worker?.stop();
    await fx?.cleanup();
  });

  async function startDeploy(input: Partial<DeployInput> & { ref: string }) {
    return temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ...input }],
    });
  }

  async function deploy(
    version: string,
    stage: Parameters<AppFixture['stage']>[1] = {},
    input: Partial<DeployInput> = {},
  ): Promise<RunOutcome> {
    fx.stage(version, stage);
    const handle = await startDeploy({ ref: version, ...input });
    return runOutcome(temporal.client, handle.workflowId);
  }

  const atApprovalGate = (handle: { query: <T>(name: string) => Promise<T> }) =>
    waitFor(async () => {
      const progress = await handle.query<Progress>('progress');
      if (progress.steps.find((s) => s.name === 'approval')?.status !== 'waiting')
        throw new Error('not at the gate yet');
    }, 30_000);
  const releasesOf = () => readdirSync(path.join(fx.root, 'releases')).filter((n) => !n.startsWith('.'));
  const currentRelease = () => path.basename(readlinkSync(path.join(fx.root, 'current')));
  const releaseInfo = (id: string) =>
    JSON.parse(readFileSync(path.join(fx.root, 'releases', id, '.runbook', 'release.json'), 'utf8'));
  const deployLog = () =>
    readFileSync(path.join(fx.root, 'deploy_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  it('deploys v1, then v2: the new version serves and the old release stays as the way back', async () => {
    const first = await deploy('v1');
    expect(first.report.outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v1');
    const v1 = currentRelease();

    const second = await deploy('v2');
    expect(second.report).toMatchObject({ outcome: 'succeeded', ref: 'v2' });
    expect(await fx.serving()).toBe('v2');
    expect(currentRelease()).not.toBe(v1);
    expect(releasesOf()).toHaveLength(2);
    expect(releaseInfo(v1).status).toBe('good');
    expect(releaseInfo(currentRelease())).toMatchObject({ status: 'good', ref: 'v2' });
    expect(second.report.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'preflight: required environment',
        'install: install dependencies',
        'migrate: migrate database',
        'stop services',
        'start services',
        'health: home (http://127.0.0.1:' + fx.port + '/)',
      ]),
    );
    expect(deployLog().map((l) => [l.ref, l.outcome])).toEqual([
      ['v1', 'succeeded'],
      ['v2', 'succeeded'],
    ]);
  });

  it.each([
    ['exits on start', 'crash', /web exited right after starting.*ImportError/s],
    ['answers 500', 'http500', /home \(http:.*\) failed after \d+ attempt\(s\): answered 500/],
    ['writes a Traceback to its log', 'traceback', /no tracebacks .* contains 'Traceback' since the restart/],
  ] as const)(
    'rolls back a release that %s: v1 serves again and the release is marked bad',
    async (_label, behavior, why) => {
      await deploy('v1');
      const v1 = currentRelease();
      const broken = await deploy('v2', { behavior });
      expect(broken.report.outcome).toBe('rolled_back');
      expect(broken.report.error).toMatch(why);
      expect(broken.failure?.cause?.message).toMatch(/rolled back deploy of .* v2/);
      expect(currentRelease()).toBe(v1);
      expect(await fx.serving()).toBe('v1');
      const bad = releasesOf().find((id) => id !== v1)!;
      expect(releaseInfo(bad)).toMatchObject({ status: 'bad', ref: 'v2' });
      const names = broken.report.steps.map((s) => `${s.name}: ${s.status}`);
      expect(names).toEqual(
        expect.arrayContaining([
          'stop services and switch back to ' + v1 + ': succeeded',
          'start previous services and check health: succeeded',
        ]),
      );
      expect(deployLog().at(-1)).toMatchObject({ ref: 'v2', outcome: 'rolled_back' });
    },
  );

  it('rolls back a failing migration before the switch: v1 never stopped serving', async () => {
    await deploy('v1');
    const v1 = currentRelease();
    const failed = await deploy('v2', { migration: 'fail' });
    expect(failed.report.outcome).toBe('rolled_back');
    expect(failed.report.error).toMatch(
      /migrate step 'migrate database' exited with status 1:\n.*column "due_date" .* already exists/s,
    );
    expect(failed.report.steps.find((s) => s.name === 'stop services')?.status).toBe('pending');
    expect(currentRelease()).toBe(v1);
    expect(await fx.serving()).toBe('v1');
  });

  it('refuses a second deploy while one runs, naming it; the approval gate then takes abort', async () => {
    await deploy('v1');
    fx.stage('v2');
    const running = await startDeploy({ ref: 'v2', requireApproval: true });
    await atApprovalGate(running);
    const second = await startDeploy({ ref: 'v3' }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect((second as WorkflowExecutionAlreadyStartedError).workflowId).toBe(appLockWorkflowId(fx.app));

    await running.signal('abort', 'wrong ticket');
    const aborted = await runOutcome(temporal.client, running.workflowId);
    expect(aborted.report.outcome).toBe('rolled_back');
    expect(aborted.report.error).toContain('deploy not approved: wrong ticket');
    expect(await fx.serving()).toBe('v1');

    // the lock ends with the run: nothing stale remains
    const next = await deploy('v4');
    expect(next.report.outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v4');
  });

  it('switches only after approval, and the progress query shows every step with its state', async () => {
    await deploy('v1');
    fx.stage('v2');
    const handle = await startDeploy({ ref: 'v2', requireApproval: true });
    await atApprovalGate(handle);
    const atGate = await handle.query<Progress>('progress');
    expect(atGate.steps.find((s) => s.name === 'install: install dependencies')).toMatchObject({
      status: 'succeeded',
      startedAt: expect.any(String),
      durationMs: expect.any(Number),
    });
    expect(atGate.steps.find((s) => s.name === 'start services')?.status).toBe('pending');
    expect(await fx.serving()).toBe('v1');
    await handle.signal('approve');
    const done = await runOutcome(temporal.client, handle.workflowId);
    expect(done.report.outcome).toBe('succeeded');
    expect(await fx.serving()).toBe('v2');
  });

  it('cancelling a deploy runs its compensations and ends as cancelled', async () => {
    await deploy('v1');
    fx.stage('v2');
    const handle = await startDeploy({ ref: 'v2', requireApproval: true });
    await atApprovalGate(handle);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    const description = await handle.describe();
    expect(description.status.name).toBe('CANCELLED');
    expect(description.memo?.summary).toMatch(/cancelled deploy of .* v2/);
    expect(deployLog().at(-1)).toMatchObject({ ref: 'v2', outcome: 'rolled_back' });
    expect(await fx.serving()).toBe('v1');
  });

  it('sets the App, Ref and Outcome search attributes and a one-line memo for the Web UI', async () => {
    const { report } = await deploy('v1');
    const description = await temporal.client.workflow.getHandle(report.workflowId, report.runId).describe();
    expect(description.searchAttributes).toMatchObject({
      App: [fx.app],
      Ref: ['v1'],
      Outcome: ['succeeded'],
      Action: ['deploy'],
    });
    expect(description.memo?.summary).toBe(report.summary);
  });

  it('keeps secret values out of the whole history, even when a step prints them', async () => {
    fx.manifest.env = { required: ['DEMO_SECRET'] };
    (fx.manifest.steps as Record<string, unknown>).build = [
      { name: 'print settings', run: ['sh', '-c', 'echo "secret is $DEMO_SECRET"'] },
    ];
    fx.save();
    const { report } = await deploy('v1');
    expect(report.outcome).toBe('succeeded');
    const text = await historyText(temporal.client, report.workflowId, report.runId);
    expect(text).toContain('DEMO_SECRET');
    expect(text).toContain('secret is ***');
    expect(text).not.toContain('tiramisu-7f3a9c1e');
    expect(existsSync(path.join(fx.root, 'deploy_log.jsonl'))).toBe(true);
    expect(readFileSync(path.join(fx.root, 'deploy_log.jsonl'), 'utf8')).not.toContain('tiramisu-7f3a9c1e');
  });

  it('refuses params the manifest does not declare, before touching anything', async () => {
    fx.stage('v1');
    const handle = await startDeploy({ ref: 'v1', params: { tenantId: '42' } });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause?.message).toBe(`unknown param 'tenantId'; ${fx.app} accepts: none`);
    expect(existsSync(path.join(fx.root, 'releases'))).toBe(false);
  });

  it('rollback switches back to the newest good release before the current one, and releases lists them', async () => {
    await deploy('v1');
    const v1 = currentRelease();
    await deploy('v2', { behavior: 'http500' }); // a bad release, never a rollback target
    await deploy('v3');
    const rolled = await temporal.client.workflow.start('rollback', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app }],
    });
    const { report } = await runOutcome(temporal.client, rolled.workflowId);
    expect(report).toMatchObject({ kind: 'rollback', outcome: 'succeeded', release: v1 });
    expect(currentRelease()).toBe(v1);
    expect(await fx.serving()).toBe('v1');

    const listed = await temporal.client.workflow.execute('releases', {
      taskQueue: fx.taskQueue,
      workflowId: `releases-${fx.app}`,
      args: [{ app: fx.app }],
    });
    expect(listed.current).toBe(v1);
    expect(listed.releases.map((r: { ref: string; status: string }) => `${r.ref}:${r.status}`)).toEqual([
      'v1:good',
      'v2:bad',
      'v3:good',
    ]);

    const unknown = await temporal.client.workflow.start('rollback', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, to: 'nope' }],
    });
    const refused = await runOutcome(temporal.client, unknown.workflowId);
    expect(refused.report).toMatchObject({
      outcome: 'failed',
      error: `release nope does not exist; list releases with: runbook releases ${fx.app}`,
    });
    expect(currentRelease()).toBe(v1);
  });
});
