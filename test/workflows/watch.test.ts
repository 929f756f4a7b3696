import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ParsedMail } from 'mailparser';
import { stringify } from 'yaml';
import { applySchedules, deleteSchedule, listSchedules } from '../../src/client/schedules';
import { watchWorkflowId } from '../../src/common/names';
import { loadManifestFile } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { runCli } from '../support/cli';
import { recordingHistories, saveHistory } from '../support/history';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { waitFor } from '../support/postgres';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(240_000);

/*
 * Missed-run alerts with real parts: the dev server's schedules, real workers (one stopped), a real SMTP
 * server and webhook receiver. Four schedules each miss a slot for a different reason; the watcher alerts
 * each exactly once (across continue-as-new), naming the schedule, the slot, the reason and the fix.
 */
describe('the watcher: missed-run alerts that name the schedule, the slot and the reason', () => {
  const taskQueue = uniqueName('watch');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-watch-'));
  const manifestsDir = path.join(dir, 'manifests');
  const served = uniqueName('etl');
  const stranded = uniqueName('etl-stranded');
  const servedHost = uniqueName('host');
  const strandedHost = uniqueName('host');
  // A daily slot three minutes ago (UTC), run now by a backfill; its deadline is 45 seconds from now.
  const slot = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000);
  const daily = `${slot.getUTCMinutes()} ${slot.getUTCHours()} * * *`;
  const deadline = `${Math.ceil((Date.now() + 45_000 - slot.getTime()) / 1000)}s`;
  const slotIso = slot.toISOString().replace('.000Z', 'Z');
  let smtp: TestSmtpServer;
  let webhook: HttpRecorder;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  const manifests: Manifest[] = [];
  const firstRuns = new Map<string, string>();

  const writeManifest = (app: string, host: string, jobs: unknown[], schedules: unknown[]): Manifest => {
    const file = path.join(manifestsDir, `${app}.yaml`);
    writeFileSync(
      file,
      stringify({
        app,
        host,
        root: path.join(dir, app),
        source: { type: 'copy', from: path.join(dir, 'staging') },
        notify: {
          on: ['schedule.missed'],
          channels: [
            { email: { via: 'smtp', toEnv: 'NOTIFICATION_RECIPIENTS', fromEnv: 'SMTP_FROM' } },
            { webhook: { urlEnv: 'MONITORING_WEBHOOK_URL', format: 'json' } },
          ],
        },
        jobs,
        schedules,
      }),
    );
    const loaded = loadManifestFile(file);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    return loaded.manifest;
  };
  const node = (code: string) => [process.execPath, '-e', code];

  beforeAll(async () => {
    mkdirSync(manifestsDir, { recursive: true });
    [smtp, webhook, temporal] = await Promise.all([
      startSmtpServer(),
      startHttpRecorder(() => ({ status: 200 })),
      connectClient(),
    ]);
    manifests.push(
      writeManifest(
        served,
        servedHost,
        [
          { name: 'divergences', run: node("console.error('source table audit.x is missing'); process.exit(3)") },
          { name: 'hang', run: node('setTimeout(() => {}, 600000)'), timeout: '15m' },
          { name: 'noop', run: node('0') },
        ].map((job) => ({ retries: 0, cwd: dir, ...job })),
        [
          { name: 'divergences', cron: daily, run: 'job', job: 'divergences', deadline },
          { name: 'reconcile', cron: daily, run: 'job', job: 'hang', deadline },
          {
            name: 'heartbeat',
            cron: '* * * * *',
            run: 'job',
            job: 'noop',
            deadline: '5s',
            paused: true,
            note: 'disk swap',
          },
        ],
      ),
      writeManifest(
        stranded,
        strandedHost,
        [{ name: 'export', run: node('0'), retries: 0, cwd: dir }],
        [{ name: 'export', cron: daily, run: 'job', job: 'export', deadline }],
      ),
    );
    // The stranded app's host worker ran once and is stopped: its activities wait on runbook-host-<host>.
    const strandedWorker = await startTestWorker({ taskQueue: uniqueName('gone'), hosts: [strandedHost] });
    await strandedWorker.stop();
    const env = {
      ...process.env,
      SMTP_HOST: smtp.host,
      SMTP_PORT: String(smtp.port),
      SMTP_FROM: 'runbook@etl.example',
      NOTIFICATION_RECIPIENTS: 'oncall@etl.example',
      MONITORING_WEBHOOK_URL: `${webhook.url}/alerts`,
    };
    worker = await startTestWorker({ taskQueue, hosts: [servedHost], activities: { manifestsDir, env } });

    for (const manifest of manifests) await applySchedules(temporal.client, manifest, { taskQueue });
    for (const [app, name] of [
      [served, 'divergences'],
      [served, 'reconcile'],
      [stranded, 'export'],
    ])
      expect((await runCli(['schedule', 'backfill', `${app}/${name}`, '--at', slotIso], { env: cliEnv() })).code).toBe(
        0,
      );
    const since = new Date(slot.getTime() - 60_000).toISOString();
    for (const app of [served, stranded]) {
      const handle = await temporal.client.workflow.start('watch', {
        taskQueue,
        workflowId: watchWorkflowId(app),
        args: [{ app, every: '2s', since, looksPerRun: 3 }],
      });
      firstRuns.set(app, handle.firstExecutionRunId);
    }
  });
  afterAll(async () => {
    for (const app of [served, stranded]) {
      await temporal.client.workflow
        .getHandle(watchWorkflowId(app))
        .terminate('test over')
        .catch(() => undefined);
      for (const s of await listSchedules(temporal.client, { app }))
        await deleteSchedule(temporal.client, s.scheduleId);
    }
    for await (const run of temporal.client.workflow.list({
      query: `ExecutionStatus = 'Running' AND WorkflowType = 'job'`,
    }))
      if (run.workflowId.includes(served) || run.workflowId.includes(stranded))
        await temporal.client.workflow
          .getHandle(run.workflowId)
          .cancel()
          .catch(() => undefined);
    await worker?.stop();
    await temporal?.close();
    await Promise.all([smtp?.close(), webhook?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const cliEnv = () => ({ RUNBOOK_MANIFESTS: manifestsDir, RUNBOOK_TASK_QUEUE: taskQueue });
  const alerts = () =>
    webhook.requests.map(
      (r) => JSON.parse(r.body) as { event: string; title: string; error: string; details: Record<string, string> },
    );
  const mailAbout = (schedule: string): ParsedMail[] =>
    smtp.mails.filter((m) => (m.subject ?? '').includes(`schedule ${schedule} `));

  it('alerts each missed slot once, through e-mail and webhook, with its reason and the backfill line', async () => {
    await waitFor(
      async () =>
        expect(
          alerts()
            .map((a) => a.details.schedule)
            .sort(),
        ).toHaveLength(4),
      150_000,
      500,
    );
    const bySchedule = Object.fromEntries(alerts().map((a) => [`${a.details.scheduleId}`, a]));

    const failing = bySchedule[`runbook-${served}-divergences`];
    expect(failing.event).toBe('schedule.missed');
    expect(failing.details).toMatchObject({ status: 'failed', reason: 'failed', slot: slot.toISOString() });
    expect(failing.title).toBe(
      `${served}: schedule divergences FAILED its ${slotIso.slice(0, 10)} ${slotIso.slice(11, 16)} (UTC) run`,
    );
    expect(failing.error).toContain('the run failed');
    expect(failing.error).toContain(`runbook schedule backfill ${served}/divergences --at ${slotIso}`);

    const hanging = bySchedule[`runbook-${served}-reconcile`];
    expect(hanging.details).toMatchObject({ status: 'missed', reason: 'running' });
    expect(hanging.error).toMatch(/still running past the deadline/);

    const paused = bySchedule[`runbook-${served}-heartbeat`];
    expect(paused.details).toMatchObject({ status: 'missed', reason: 'paused' });
    expect(paused.error).toContain('the schedule was paused (note: disk swap)');
    expect(paused.error).toContain(`runbook schedule unpause ${served}/heartbeat`);

    const waiting = bySchedule[`runbook-${stranded}-export`];
    expect(waiting.details).toMatchObject({ status: 'missed', reason: 'no-worker' });
    expect(waiting.error).toContain(`no worker polls task queue runbook-host-${strandedHost}`);
    expect(waiting.error).toContain(`runbook schedule backfill ${stranded}/export --at ${slotIso}`);

    // The same four by e-mail, each once; more looks (and continue-as-new every 3 looks) send nothing again.
    await smtp.waitForMails(4);
    for (const name of ['divergences', 'reconcile', 'heartbeat', 'export']) expect(mailAbout(name)).toHaveLength(1);
    expect(mailAbout('export')[0].text).toContain('no worker polls task queue');
    const runs = await temporal.client.workflow.getHandle(watchWorkflowId(served)).describe();
    const looksBefore = runs.runId;
    await waitFor(
      async () =>
        expect((await temporal.client.workflow.getHandle(watchWorkflowId(served)).describe()).runId).not.toBe(
          looksBefore,
        ),
      30_000,
      500,
    );
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(webhook.requests).toHaveLength(4);
    expect(smtp.mails).toHaveLength(4);
    if (recordingHistories()) saveHistory('watch-continued', watchWorkflowId(served), firstRuns.get(served) as string);
  });

  it('runbook schedule status shows each slot with its outcome and reason; the backfill line fixes a failed one', async () => {
    const status = await runCli(['schedule', 'status', served, '--last', '2'], { env: cliEnv() });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${served}/divergences  next `);
    expect(status.stdout).toMatch(/failed\s+the run failed: .*source table audit\.x is missing/);
    expect(status.stdout).toMatch(/missed \(still running past the deadline\)/);
    expect(status.stdout).toContain(`${served}/heartbeat  PAUSED (disk swap)`);
    expect(status.stdout).toMatch(/missed \(paused\)/);
    expect(status.stdout).toContain(`${served}: missed-run alerts on (watch-${served}`);

    // Fix the job, then run exactly the line the alert gave: the slot's own run succeeds.
    const fixed = writeManifest(
      served,
      servedHost,
      [
        { name: 'divergences', run: node('0'), retries: 0, cwd: dir },
        { name: 'hang', run: node('setTimeout(() => {}, 600000)'), retries: 0, timeout: '15m', cwd: dir },
        { name: 'noop', run: node('0'), retries: 0, cwd: dir },
      ],
      [
        { name: 'divergences', cron: daily, run: 'job', job: 'divergences', deadline },
        { name: 'reconcile', cron: daily, run: 'job', job: 'hang', deadline },
        {
          name: 'heartbeat',
          cron: '* * * * *',
          run: 'job',
          job: 'noop',
          deadline: '5s',
          paused: true,
          note: 'disk swap',
        },
      ],
    );
    expect(fixed.jobs[0].run).toEqual(node('0'));
    const line = alerts().find((a) => a.details.scheduleId === `runbook-${served}-divergences`)?.details.fix as string;
    expect(line).toBe(`runbook schedule backfill ${served}/divergences --at ${slotIso}`);
    expect((await runCli(line.split(' ').slice(1), { env: cliEnv() })).code).toBe(0);
    await waitFor(
      async () => {
        const json = await runCli(['schedule', 'status', served, '--last', '1', '--json'], { env: cliEnv() });
        const [app] = JSON.parse(json.stdout) as Array<{
          schedules: Array<{ name: string; outcomes: Array<{ status: string }> }>;
        }>;
        expect(app.schedules.find((s) => s.name === 'divergences')?.outcomes.map((o) => o.status)).toEqual(['ok']);
      },
      60_000,
      1_000,
    );
  });
});
