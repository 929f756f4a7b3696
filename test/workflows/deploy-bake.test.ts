import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/names';
import type { Progress } from '../../src/common/progress';
import type { DemoBehavior } from '../../src/devserver/demo-app';
import { runCli } from '../support/cli';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { waitFor } from '../support/postgres';
import { runOutcome } from '../support/runs';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

/**
 * The bake: after the switch and the first passing checks, a release is watched for `health.bake` (60 s here)
 * before it counts as good. Releases that pass their first checks and break 20 s later (500s, a dead process,
 * memory past its limit) roll back during the bake; a healthy one is marked good only at its end. The four
 * deploys run side by side, so the suite pays for one window.
 */
describe('deploy with a 60 s bake (real app processes)', () => {
  const manifestsDir = mkdtempSync(path.join(os.tmpdir(), 'runbook-bake-'));
  const taskQueue = uniqueName('bake-q');
  const env = { RUNBOOK_TASK_QUEUE: taskQueue, RUNBOOK_MANIFESTS: manifestsDir };
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let worker: TestWorker;
  const cases: Array<{ name: string; behavior: DemoBehavior; why?: RegExp; fx?: AppFixture }> = [
    { name: 'healthy', behavior: 'ok' },
    { name: 'http500', behavior: 'http500-after:20', why: /home \(http:\S+\): answered 500, expected 200/ },
    { name: 'dies', behavior: 'exit-after:20', why: /web is not running any more \(was pid \d+\)/ },
    {
      name: 'leaks',
      behavior: 'grow-after:20',
      why: /web uses \d+(\.\d)? MiB of memory, over its limit 160MiB/,
    },
  ];

  beforeAll(async () => {
    temporal = await connectClient();
    for (const c of cases) {
      const fx = await createAppFixture({ name: `bake-${c.name}`, manifestsDir });
      Object.assign(fx.manifest.health as object, { bake: '2s', bakeInterval: '1s' });
      Object.assign((fx.manifest.services as object[])[0], { limits: { memory: '160MiB' } });
      fx.save();
      c.fx = fx;
    }
    worker = await startTestWorker({ taskQueue, hosts: cases.map((c) => c.fx!.host), activities: { manifestsDir } });
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    for (const c of cases) await c.fx?.cleanup();
    rmSync(manifestsDir, { recursive: true, force: true });
    await temporal?.close();
  });

  const start = (fx: AppFixture, version: string) =>
    temporal.client.workflow.start('deploy', {
      taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref: version }],
    });
  const current = (fx: AppFixture) => path.basename(readlinkSync(path.join(fx.root, 'current')));
  const releaseStatus = (fx: AppFixture, id: string) =>
    (
      JSON.parse(readFileSync(path.join(fx.root, 'releases', id, '.runbook', 'release.json'), 'utf8')) as {
        status: string;
      }
    ).status;

  it('rolls back releases that degrade 20 s into the bake; marks the healthy one good only at its end', async () => {
    // v1 of each app (the previous release to go back to) bakes briefly; then v2 of each, all at once, for 60 s.
    const firsts = await Promise.all(
      cases.map(async ({ fx }) => {
        fx!.stage('v1');
        return runOutcome(temporal.client, (await start(fx!, 'v1')).workflowId);
      }),
    );
    expect(firsts.map((f) => f.report.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const previous = cases.map(({ fx }) => current(fx!));
    for (const { fx } of cases) {
      Object.assign(fx!.manifest.health as object, { bake: '60s', bakeInterval: '2s' });
      fx!.save();
    }

    const handles = await Promise.all(
      cases.map(async ({ fx, behavior }) => {
        fx!.stage('v2', { behavior });
        return start(fx!, 'v2');
      }),
    );
    const healthy = cases[0].fx!;
    const bakeStep = 'bake: watch for 60s';
    // 10 s into the bake: the release serves, yet it is not good; the views count the bake down.
    let baking: Progress | undefined;
    await waitFor(
      async () => {
        const progress = await handles[0].query<Progress>('progress');
        const step = progress.steps.find((s) => s.name === bakeStep);
        if (step?.status !== 'running' || Date.parse(step.until!) - Date.now() > 50_000) throw new Error('not yet');
        baking = progress;
      },
      90_000,
      500,
    );
    expect(await healthy.serving()).toBe('v2');
    const release = current(healthy);
    expect(release).not.toBe(previous[0]);
    expect(releaseStatus(healthy, release)).toBe('ready');
    expect(baking!.steps.find((s) => s.name === `mark release ${release} good`)?.status).not.toBe('succeeded');
    const status = await runCli(['status', handles[0].workflowId], { env });
    expect(status.stdout).toMatch(/▸ bake: watch for 60s +running +\S+ +\d+\.\ds left/);
    const metadata = await handles[0].query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toMatch(/now: bake: watch for 60s \(running until \S+Z\)/);

    const ends = await Promise.all(handles.map((h) => runOutcome(temporal.client, h.workflowId)));
    expect(ends[0].report.outcome).toBe('succeeded');
    expect(ends[0].report.steps.find((s) => s.name === bakeStep)).toMatchObject({
      status: 'succeeded',
      message: expect.stringMatching(
        /^healthy for \d+ round\(s\): 3 check\(s\), 1 service\(s\) running without a restart; web peak \d+(\.\d)? MiB, \d+% CPU$/,
      ),
    });
    expect(ends[0].report.steps.find((s) => s.name === bakeStep)!.durationMs).toBeGreaterThanOrEqual(59_000);
    expect(releaseStatus(healthy, release)).toBe('good');

    for (const [i, c] of cases.entries()) {
      if (!c.why) continue;
      const { report } = ends[i];
      expect({ app: c.name, outcome: report.outcome }).toEqual({ app: c.name, outcome: 'rolled_back' });
      expect(report.error).toMatch(/^bake failed with \d+\.\ds to go \(round \d+\): /);
      expect(report.error).toMatch(c.why);
      // Rolled back during the bake, not at its end: 20 s in, well before the 60 s.
      const bake = report.steps.find((s) => s.name === bakeStep)!;
      expect(bake).toMatchObject({ status: 'failed' });
      expect(bake.durationMs).toBeLessThan(45_000);
      expect(current(c.fx!)).toBe(previous[i]);
      expect(await c.fx!.serving()).toBe('v1');
      expect(report.steps.find((s) => s.name === 'start previous services and check health')?.status).toBe('succeeded');
    }

    // One heartbeating activity per bake: no timer or activity per round in history.
    const history = await handles[0].fetchHistory();
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes);
    expect(scheduled.filter((e) => e.activityTaskScheduledEventAttributes!.activityType?.name === 'bake')).toHaveLength(
      1,
    );
    expect(history.events!.filter((e) => e.timerStartedEventAttributes)).toHaveLength(0);
  }, 300_000);
});
