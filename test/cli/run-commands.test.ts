import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunReport } from '../../src/common/progress';
import { runCli } from '../support/cli';
import { startFixtureWorker } from '../support/fixture-worker';
import { waitFor } from '../support/postgres';
import { connectClient, uniqueName, type TestWorker } from '../support/temporal';

/**
 * The starting commands' shared flow, run as the built binary against the real dev server: live progress as
 * plain lines, the RunReport of a success and of a failure, --json and --no-wait, status, history. A stand-in
 * workflow (test/support/fixture-workflows.ts) keeps the contract of the real ones, so this tests the CLI's
 * generic code apart from any one workflow; deploy-commands.test.ts runs the real deploy.
 */
describe('runbook starting commands, status and history', () => {
  const taskQueue = uniqueName('cli-runs');
  const app = uniqueName('cliapp');
  const manifests = mkdtempSync(path.join(os.tmpdir(), 'runbook-cli-runs-'));
  const env = { RUNBOOK_TASK_QUEUE: taskQueue, RUNBOOK_MANIFESTS: manifests };
  let worker: TestWorker;

  beforeAll(async () => {
    writeFileSync(
      path.join(manifests, `${app}.yaml`),
      [
        `app: ${app}`,
        `host: ${uniqueName('host')}`,
        `root: /srv/${app}`,
        `source: { type: copy, from: /srv/staging/${app} }`,
        'backups:',
        '  targets:',
        `    - { name: ok, files: { paths: [/srv/${app}] } }`,
        `    - { name: broken, files: { paths: [/srv/${app}] } }`,
        '',
      ].join('\n'),
    );
    worker = await startFixtureWorker(taskQueue);
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
  });

  it('shows each step as it changes, then the outcome with its Web UI link, and exits 0', async () => {
    const result = await runCli(['backup', app, '--target', 'ok'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^backup ${app} ok \\(backup-${app}-ok-\\d{8}T\\d{6}Z\\)$`));
    expect(lines[1]).toMatch(
      new RegExp(
        `^  ${process.env.TEMPORAL_UI_URL}/namespaces/default/workflows/backup-${app}-ok-\\w+/[\\w-]+/history$`,
      ),
    );
    // Plain output (not a TTY): one line per change of a step, never a repeat, never a pending step.
    const stepLines = lines.filter((l) => /^ {2}[▸✓✗–] /.test(l));
    expect(stepLines.some((l) => /✓ dump database {2}succeeded {2}\d+(ms|\.\ds) {2}dumped 3 tables$/.test(l))).toBe(
      true,
    );
    expect(stepLines.filter((l) => l.includes('✓ upload archive'))).toHaveLength(1);
    expect(stepLines.some((l) => l.includes('✓ prune old archives'))).toBe(true);
    expect(new Set(stepLines).size).toBe(stepLines.length);
    expect(result.stdout).not.toContain('pending');
    expect(result.stdout).toMatch(
      new RegExp(`✓ backup ${app} ok succeeded in [\\d.ms]+: backup ${app} ok done\\n  http://`),
    );
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('exits 1 when the run fails, printing the failed step, the error to act on and the link', async () => {
    const result = await runCli(['backup', app, '--target', 'broken'], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /✗ upload archive {2}failed {2}\S+ {2}bucket \/srv\/backups is full; free space and run again/,
    );
    expect(result.stdout).toMatch(/– prune old archives {2}skipped {2}upload failed/);
    expect(result.stdout).toMatch(new RegExp(`✗ backup ${app} broken failed in \\S+: backup ${app} failed: bucket`));
    expect(result.stdout).toMatch(
      /error: bucket \/srv\/backups is full; free space and run again\n {2}http:\/\/\S+\/history\n$/,
    );
    expect(result.stderr).toMatch(new RegExp(`^error: backup ${app} broken failed: bucket /srv/backups is full`));
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('gives scripts the outcome and the RunReport as one JSON document, failures included', async () => {
    const ok = await runCli(['backup', app, '--target', 'ok', '--json'], { env });
    expect(ok.code).toBe(0);
    const end = JSON.parse(ok.stdout) as {
      outcome: string;
      status: string;
      workflowId: string;
      url: string;
      report: RunReport;
    };
    expect(end).toMatchObject({
      kind: 'backup',
      status: 'COMPLETED',
      outcome: 'succeeded',
      report: { kind: 'backup', app, outcome: 'succeeded' },
    });
    expect(end.report.steps.map((s) => [s.name, s.status])).toEqual([
      ['dump database', 'succeeded'],
      ['upload archive', 'succeeded'],
      ['prune old archives', 'succeeded'],
    ]);
    expect(end.url).toContain(`/workflows/${end.workflowId}/`);

    const failed = await runCli(['backup', app, '--target', 'broken', '--json'], { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe('');
    const failedEnd = JSON.parse(failed.stdout) as {
      outcome: string;
      status: string;
      error: string;
      report: RunReport;
    };
    expect(failedEnd).toMatchObject({
      status: 'FAILED',
      outcome: 'failed',
      error: 'bucket /srv/backups is full; free space and run again',
    });
    expect(failedEnd.report.steps.find((s) => s.name === 'upload archive')).toMatchObject({ status: 'failed' });
  });

  it('returns at once with --no-wait; status follows the run to its end; history finds it by app', async () => {
    const started = await runCli(['backup', app, '--target', 'ok', '--no-wait', '--json'], { env });
    expect(started.code).toBe(0);
    const run = JSON.parse(started.stdout) as { status: string; workflowId: string; runId: string; url: string };
    expect(run).toMatchObject({ kind: 'backup', status: 'started' });
    expect(run.url).toContain(run.runId);

    let status: { status: string; end?: { outcome: string; report: RunReport }; app?: string } = { status: 'RUNNING' };
    await waitFor(
      async () => {
        const result = await runCli(['status', run.workflowId, '--json'], { env });
        expect(result.code).toBe(0);
        status = JSON.parse(result.stdout) as typeof status;
        expect(status.status).toBe('COMPLETED');
      },
      30_000,
      300,
    );
    expect(status).toMatchObject({ app, end: { outcome: 'succeeded', report: { app } } });

    const human = await runCli(['status', run.workflowId], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^backup ${app} {2}succeeded\\n`));
    expect(human.stdout).toMatch(/\n {2}✓ dump database +succeeded/);
    expect(human.stdout).toContain(run.url);

    await waitFor(
      async () => {
        const result = await runCli(['history', '--app', app, '--json'], { env });
        expect(result.code).toBe(0);
        const runs = JSON.parse(result.stdout) as Array<{ workflowId: string; app: string; url: string }>;
        expect(runs.map((r) => r.workflowId)).toContain(run.workflowId);
        expect(runs.every((r) => r.app === app && r.url.includes(r.workflowId))).toBe(true);
      },
      30_000,
      500,
    );
    const table = await runCli(['history', '--app', app, '--limit', '1'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout.trim().split('\n')).toHaveLength(2);
    expect(table.stdout).toMatch(/ {2}backup-\S+ {2}http:\/\/\S+\/history/);
  });

  it('says so when no worker answers on the task queue, and the run waits for one', async () => {
    const idle = uniqueName('no-worker');
    const result = await runCli(['backup', app, '--target', 'ok'], {
      env: { ...env, RUNBOOK_TASK_QUEUE: idle },
      timeoutMs: 8_000,
    });
    expect(result.stderr).toContain(
      `no worker has answered on task queue ${idle} yet; the run goes on when one polls it (runbook worker, or runbook dev)`,
    );
    const started = /\((backup-\S+)\)/.exec(result.stdout)?.[1] as string;
    const temporal = await connectClient();
    try {
      const handle = temporal.client.workflow.getHandle(started);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test cleanup');
    } finally {
      await temporal.close();
    }
  });

  it('refuses status and approve of a workflow id that does not exist with exit 2', async () => {
    const missing = uniqueName('deploy-missing');
    for (const command of ['status', 'approve']) {
      const result = await runCli([command, missing], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`error: no run with workflow id '${missing}' in namespace 'default'`);
      expect(result.stderr).toContain('hint: list recent runs with `runbook history`');
    }
  });
});
