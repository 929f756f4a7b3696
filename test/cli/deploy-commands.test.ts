import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { appLockWorkflowId } from '../../src/common/names';
import type { RunReport } from '../../src/common/progress';
import { freePort } from '../../src/devserver/ports';
import { runCli } from '../support/cli';
import { historyText } from '../support/history';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { waitFor } from '../support/postgres';
import { connectClient, startTestWorker, type TestWorker } from '../support/temporal';

/** plan, deploy, releases, rollback, approve/abort through the built binary, with the real deploy workflow and a real app. */
describe('runbook plan, deploy, releases, rollback (real deploy workflow and app)', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let env: Record<string, string>;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    temporal = await connectClient();
    fx = await createAppFixture();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
    env = { RUNBOOK_TASK_QUEUE: fx.taskQueue, RUNBOOK_MANIFESTS: fx.manifestsDir };
  });
  afterAll(async () => {
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
  });

  it('plan prints the steps with their argv and undos, and executes nothing: no server needed, no run, no folder', async () => {
    fx.stage('v1');
    const nowhere = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
    const human = await runCli(['plan', fx.app, '--ref', 'v1'], { env: nowhere });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`plan: deploy ${fx.app} v1 (releases, copy source) — nothing was run`);
    expect(human.stdout).toMatch(/ {3}\d\. install: install dependencies\n {6}\$ python3 install\.py\n/);
    expect(human.stdout).toMatch(/\. migrate: migrate database\n {6}\$ python3 migrate\.py\n/);
    expect(human.stdout).toContain(`health: home (${fx.url('/')})`);
    expect(human.stdout).toMatch(
      /if a step fails, these undo what was done, in this order:\n {3}1\. stop services and switch back to the previous release\n {3}2\. start previous services and check health/,
    );

    const json = await runCli(['plan', fx.app, '--ref', 'v1', '--json'], { env: nowhere });
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as {
      app: string;
      hosts: Array<{ host: string; steps: Array<{ name: string; action: string; argv?: string[] }> }>;
      compensations: string[];
    };
    expect(plan.app).toBe(fx.app);
    expect(plan.hosts[0].host).toBe(fx.host);
    expect(plan.hosts[0].steps.find((s) => s.name === 'install: install dependencies')).toMatchObject({
      action: 'run-step',
      argv: ['python3', 'install.py'],
    });
    expect(plan.compensations).toHaveLength(2);

    expect(existsSync(fx.root)).toBe(false);
    const error = await temporal.client.workflow
      .getHandle(appLockWorkflowId(fx.app))
      .describe()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowNotFoundError);
  });

  it('plan refuses what the deploy would refuse, with exit 2', async () => {
    const result = await runCli(['plan', fx.app, '--ref', '--upload-pack=x'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: ref '--upload-pack=x' is not a valid git ref or tag");
  });

  it('deploys v1 (exit 0), rolls a broken v2 back by itself (exit 1), and releases shows both', async () => {
    fx.stage('v1');
    const first = await runCli(['deploy', fx.app, '--ref', 'v1', '--json'], { env, timeoutMs: 120_000 });
    expect(first.code).toBe(0);
    const firstEnd = JSON.parse(first.stdout) as { outcome: string; url: string; report: RunReport };
    expect(firstEnd).toMatchObject({ kind: 'deploy', outcome: 'succeeded', report: { app: fx.app, ref: 'v1' } });
    expect(await fx.serving()).toBe('v1');

    fx.stage('v2', { behavior: 'http500' });
    const second = await runCli(['deploy', fx.app, '--ref', 'v2'], { env, timeoutMs: 120_000 });
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/✗ health: home \(http:\S+\) {2}failed {2}\S+ {2}.*answered 500, expected 200/);
    expect(second.stdout).toMatch(/✓ start previous services and check health {2}succeeded/);
    expect(second.stdout).toMatch(
      new RegExp(`↩ deploy ${fx.app} v2 rolled back in \\S+: rolled back deploy of ${fx.app} v2`),
    );
    expect(second.stderr).toMatch(new RegExp(`^error: deploy ${fx.app} v2 rolled back: home .* answered 500`));
    expect(await fx.serving()).toBe('v1');

    const releases = await runCli(['releases', fx.app, '--json'], { env });
    expect(releases.code).toBe(0);
    const view = JSON.parse(releases.stdout) as {
      current: string;
      releases: Array<{ id: string; ref: string; status: string }>;
    };
    expect(view.releases.map((r) => [r.ref, r.status])).toEqual([
      ['v1', 'good'],
      ['v2', 'bad'],
    ]);
    expect(view.current).toBe(view.releases[0].id);
    const table = await runCli(['releases', fx.app], { env });
    expect(table.stdout).toMatch(new RegExp(`^\\* ${view.current} {2}good {3}v1 `, 'm'));
    expect(table.stdout).toMatch(/^ {2}\S+ {2}bad {4}v2 .*\n {4}home .*answered 500/m);
  }, 180_000);

  it('holds a deploy at its approval gate, refuses a second one naming it, and abort rolls it back', async () => {
    fx.stage('v3');
    const workflowId = appLockWorkflowId(fx.app);
    const watching = runCli(['deploy', fx.app, '--ref', 'v3', '--approve-required'], { env, timeoutMs: 150_000 });

    await waitFor(
      async () => {
        const status = await runCli(['status', workflowId], { env });
        expect(status.stdout).toMatch(
          new RegExp(
            `waiting for approval until \\d\\d:\\d\\d:\\d\\dZ \\(then it will roll back\\): runbook approve ${workflowId} {2}\\(or runbook abort ${workflowId}\\)`,
          ),
        );
        expect(status.stdout).toMatch(/⏸ approval +waiting/);
      },
      60_000,
      300,
    );

    const refused = await runCli(['deploy', fx.app, '--ref', 'v4'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      new RegExp(
        `error: ${workflowId} is already running \\(deploy v3 since \\S+, started by \\d+@\\S+\\); one deploy or rollback per app at a time`,
      ),
    );
    expect(refused.stderr).toMatch(
      new RegExp(
        `hint: wait for it to end \\(runbook status ${workflowId}, or deploy with --wait-lock\\); it is at http://\\S+/workflows/${workflowId}/[\\w-]+/history`,
      ),
    );
    const refusedRollback = await runCli(['rollback', fx.app], { env });
    expect(refusedRollback.code).toBe(2);
    expect(refusedRollback.stderr).toContain(`error: ${workflowId} is already running`);

    const aborted = await runCli(['abort', workflowId, '--reason', 'wrong tenant', '--json'], { env });
    expect(aborted.code).toBe(0);
    expect(JSON.parse(aborted.stdout)).toMatchObject({
      workflowId,
      update: 'abort',
      step: 'approval',
      message: 'aborted (wrong tenant); the deploy undoes what it did and ends',
    });
    const watched = await watching;
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(
      new RegExp(
        `⏸ approval {2}waiting {2}\\S+ {2}waiting for approve or abort\\n {2}waiting for approval until \\S+ \\(then it will roll back\\): runbook approve ${workflowId} {2}\\(or runbook abort ${workflowId}\\)\\n`,
      ),
    );
    expect(watched.stdout).toMatch(/✗ approval {2}failed {2}\S+ {2}deploy not approved: wrong tenant/);
    expect(watched.stdout).toMatch(new RegExp(`↩ deploy ${fx.app} v3 rolled back`));
    expect(await fx.serving()).toBe('v1');

    const late = await runCli(['abort', workflowId], { env });
    expect(late.code).toBe(2);
    expect(late.stderr).toContain(
      `error: ${workflowId} is not running (failed, rolled_back); there is nothing to abort`,
    );
  }, 180_000);

  it('approve lets a held deploy switch; rollback goes back to the earlier good release', async () => {
    fx.stage('v5');
    const workflowId = appLockWorkflowId(fx.app);
    const started = await runCli(['deploy', fx.app, '--ref', 'v5', '--approve-required', '--no-wait', '--json'], {
      env,
    });
    expect(started.code).toBe(0);
    const run = JSON.parse(started.stdout) as { workflowId: string; status: string; url: string };
    expect(run).toMatchObject({ workflowId, status: 'started' });
    await waitFor(
      async () => {
        const status = await runCli(['status', workflowId, '--json'], { env });
        const description = JSON.parse(status.stdout) as {
          progress?: { steps: Array<{ name: string; status: string }> };
        };
        expect(description.progress?.steps.find((s) => s.name === 'approval')?.status).toBe('waiting');
      },
      60_000,
      300,
    );
    const approved = await runCli(['approve', workflowId], { env });
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(
      new RegExp(`^approve ${workflowId} \\(approval\\): approved at \\S+; the deploy goes on\n`),
    );
    await waitFor(
      async () => {
        const status = await runCli(['status', workflowId, '--json'], { env });
        expect(JSON.parse(status.stdout)).toMatchObject({
          status: 'COMPLETED',
          end: { outcome: 'succeeded', report: { ref: 'v5' } },
        });
      },
      60_000,
      300,
    );
    expect(await fx.serving()).toBe('v5');

    const result = await runCli(['rollback', fx.app, '--json'], { env, timeoutMs: 120_000 });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      kind: 'rollback',
      outcome: 'succeeded',
      report: { kind: 'rollback', app: fx.app },
    });
    expect(await fx.serving()).toBe('v1');

    await waitFor(
      async () => {
        const history = await runCli(['history', '--app', fx.app, '--kind', 'rollback', '--json'], { env });
        const runs = JSON.parse(history.stdout) as Array<{ kind: string; outcome?: string }>;
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ kind: 'rollback', outcome: 'succeeded' });
      },
      30_000,
      500,
    );
    const rolledBack = await runCli(['history', '--app', fx.app, '--outcome', 'rolled_back', '--json'], { env });
    expect((JSON.parse(rolledBack.stdout) as unknown[]).length).toBe(2);
  }, 240_000);

  /** Adds a build step that holds the deploy until the test lets it go (a file appears): no race with the clock. */
  function holdAtBuild(): { release(): void; restore(): void } {
    const flag = path.join(fx.dir, `go-${Date.now()}`);
    const steps = fx.manifest.steps as Record<string, unknown[]>;
    steps.build = [
      {
        name: 'wait for the test',
        run: ['python3', '-c', 'import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.1)', flag],
      },
    ];
    fx.save();
    return {
      release: () => writeFileSync(flag, 'go\n'),
      restore() {
        delete steps.build;
        fx.save();
      },
    };
  }

  const stepStatus = async (workflowId: string, name: string) => {
    const status = await runCli(['status', workflowId, '--json'], { env });
    const steps = (JSON.parse(status.stdout) as { progress?: { steps: Array<{ name: string; status: string }> } })
      .progress?.steps;
    return steps?.find((s) => s.name === name)?.status;
  };

  it('refuses approve before the gate and abort with no gate (exit 2, nothing changed): the gate still waits', async () => {
    const workflowId = appLockWorkflowId(fx.app);
    const hold = holdAtBuild();
    try {
      fx.stage('v4');
      const watching = runCli(['deploy', fx.app, '--ref', 'v4', '--approve-required'], { env, timeoutMs: 150_000 });
      await waitFor(
        async () => expect(await stepStatus(workflowId, 'build: wait for the test')).toBe('running'),
        60_000,
        200,
      );
      const early = await runCli(['approve', workflowId], { env });
      expect(early.code).toBe(2);
      expect(early.stderr).toMatch(
        new RegExp(
          `^error: approve refused: ${workflowId} is not waiting at an approval gate \\(now: build: wait for the test, running\\); nothing to approve`,
          'm',
        ),
      );
      expect(early.stderr).toContain(`hint: see where the run is with \`runbook status ${workflowId}\``);
      expect(early.stderr).not.toMatch(/^\s+at /m);
      const noGate = await runCli(['abort', workflowId, '--reason', 'too early', '--json'], { env });
      expect(noGate.code).toBe(2);
      expect(JSON.parse(noGate.stdout).error.message).toMatch(
        new RegExp(`^abort refused: ${workflowId} is not waiting at an approval gate .*runbook cancel ${workflowId}`),
      );
      // An older client's signal cannot be refused; it is ignored off the gate instead of pre-approving.
      await temporal.client.workflow.getHandle(workflowId).signal('approve');
      hold.release();

      await waitFor(async () => expect(await stepStatus(workflowId, 'approval')).toBe('waiting'), 60_000, 300);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const still = await runCli(['status', workflowId, '--json'], { env });
      expect(JSON.parse(still.stdout)).toMatchObject({
        status: 'RUNNING',
        progress: { state: 'waiting-approval', waiting: { for: 'approval', accepts: ['approve', 'abort'] } },
      });
      expect(await fx.serving()).toBe('v1');
      expect(await historyText(temporal.client, workflowId)).not.toContain('UpdateAccepted');

      const approved = await runCli(['approve', workflowId], { env });
      expect(approved.code).toBe(0);
      const watched = await watching;
      expect(watched.code).toBe(0);
      expect(await fx.serving()).toBe('v4');
    } finally {
      hold.restore();
    }
  }, 180_000);

  it('refuses abort of a deploy that has no approval gate (exit 2); the deploy goes on and succeeds', async () => {
    const workflowId = appLockWorkflowId(fx.app);
    const hold = holdAtBuild();
    try {
      fx.stage('v4b');
      const watching = runCli(['deploy', fx.app, '--ref', 'v4b'], { env, timeoutMs: 150_000 });
      await waitFor(
        async () => expect(await stepStatus(workflowId, 'build: wait for the test')).toBe('running'),
        60_000,
        200,
      );
      const refused = await runCli(['abort', workflowId], { env });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`error: abort refused: ${workflowId} is not waiting at an approval gate`);
      hold.release();
      const watched = await watching;
      expect(watched.code).toBe(0);
      expect(await fx.serving()).toBe('v4b');
      expect(await historyText(temporal.client, workflowId)).not.toContain('UpdateAccepted');
    } finally {
      hold.restore();
    }
  }, 180_000);

  it('cancel stops a deploy at once: its undos run first, it ends cancelled (exit 0); a second cancel exits 2', async () => {
    const workflowId = appLockWorkflowId(fx.app);
    const serving = await fx.serving();
    fx.stage('v6');
    const started = await runCli(['deploy', fx.app, '--ref', 'v6', '--approve-required', '--no-wait'], { env });
    expect(started.code).toBe(0);
    await waitFor(
      async () => {
        const status = await runCli(['status', workflowId], { env });
        expect(status.stdout).toMatch(/⏸ approval +waiting/);
      },
      60_000,
      300,
    );
    const cancelled = await runCli(['cancel', workflowId], { env, timeoutMs: 120_000 });
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`cancel requested for ${workflowId}; it undoes what it did, then ends`);
    expect(cancelled.stdout).toMatch(/✓ start previous services and check health {2}succeeded/);
    expect(cancelled.stdout).toMatch(new RegExp(`⊘ deploy ${workflowId} cancelled`));
    expect(await fx.serving()).toBe(serving);

    const again = await runCli(['cancel', workflowId], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`error: ${workflowId} is not running (cancelled`);
  }, 180_000);

  it('deploy --wait-lock waits for the running deploy of the app, saying whom it waits for, then runs', async () => {
    const workflowId = appLockWorkflowId(fx.app);
    const hold = holdAtBuild();
    try {
      fx.stage('v7');
      const first = runCli(['deploy', fx.app, '--ref', 'v7'], { env, timeoutMs: 150_000 });
      await waitFor(
        async () => expect(await stepStatus(workflowId, 'build: wait for the test')).toBe('running'),
        60_000,
        200,
      );
      const second = runCli(['deploy', fx.app, '--ref', 'v7', '--wait-lock'], { env, timeoutMs: 150_000 });
      // The second one is waiting, not refused: it has not started, and says for whom it waits.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const { runId: firstRun } = await temporal.client.workflow.getHandle(workflowId).describe();
      hold.restore(); // the second deploy runs without the hold
      hold.release();
      const [one, two] = await Promise.all([first, second]);
      expect(one.code).toBe(0);
      expect(two.stderr).toBe('');
      expect(two.code).toBe(0);
      expect(two.stdout).toMatch(
        new RegExp(
          `^deploy ${fx.app} v7: waiting for ${workflowId} to end \\(deploy v7 since \\S+, started by \\d+@\\S+\\)\n {2}http://\\S+/workflows/${workflowId}/${firstRun}/history\n`,
        ),
      );
      expect(two.stdout).toMatch(new RegExp(`✓ deploy ${fx.app} v7 succeeded`));
      const { runId: secondRun } = await temporal.client.workflow.getHandle(workflowId).describe();
      expect(secondRun).not.toBe(firstRun);
      expect(two.stdout).toContain(`/workflows/${workflowId}/${secondRun}/history`);
    } finally {
      hold.restore();
    }
  }, 180_000);
});
