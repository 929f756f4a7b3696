import path from 'node:path';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import type { RunReport } from '../../src/common/progress';
import { runUrl, scheduleId } from '../../src/common/names';
import { appPaths } from '../../src/common/names';
import { readWholeDeployLog } from '../support/deploy-log';
import { isAlive } from '../../src/activities/containment';
import { applySchedules, backfillSchedule, deleteSchedule } from '../../src/client/schedules';
import { loadManifestFile } from '../../src/manifest/load';
import { createJobApp, type JobApp } from '../support/job-app';
import { createDatabase, waitFor } from '../support/postgres';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

const JOB = 'daily-processor';

function smtpEnv(smtp: TestSmtpServer): Record<string, string> {
  return {
    SMTP_HOST: smtp.host,
    SMTP_PORT: String(smtp.port),
    SMTP_FROM: 'runbook@example.com',
    NOTIFICATION_RECIPIENTS: 'controller@example.com,analista@example.com',
  };
}

const EMAIL_ON_SUMMARY = {
  on: ['job.summary'],
  channels: [{ email: { via: 'smtp', toEnv: 'NOTIFICATION_RECIPIENTS', fromEnv: 'SMTP_FROM' } }],
};

function mailsOf(smtp: TestSmtpServer, workflowId: string) {
  return smtp.mails.filter((m) =>
    String(m.headers.get('x-runbook-idempotency-key') ?? '').startsWith(`${workflowId}/`),
  );
}

describe('job workflow on the real dev server, PostgreSQL and SMTP', () => {
  const taskQueue = uniqueName('job');
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let db: PgClient;
  let databaseUrl: string;
  let smtp: TestSmtpServer;
  let busySmtp: TestSmtpServer;
  let app: JobApp;
  let busyApp: JobApp;
  let rangeApp: JobApp;
  let worker: TestWorker;

  beforeAll(async () => {
    databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName('jobs'));
    db = new PgClient({ connectionString: databaseUrl });
    await db.connect();
    [smtp, busySmtp] = await Promise.all([startSmtpServer(), startSmtpServer({ refuseFirst: 2 })]);
    const host = uniqueName('etl');
    app = createJobApp({
      app: uniqueName('financial-etl'),
      host,
      failDates: ['2025-12-02'],
      slowDates: ['2025-12-20'],
      env: smtpEnv(smtp),
      notify: EMAIL_ON_SUMMARY,
    });
    // Both manifests in one folder: one worker serves both apps.
    busyApp = createJobApp({
      app: uniqueName('busy-etl'),
      host,
      env: smtpEnv(busySmtp),
      notify: EMAIL_ON_SUMMARY,
      manifestsDir: app.manifestsDir,
    });
    // The guide's own range test (one call over --data-inicio … --data-fim), scheduled far east of UTC.
    rangeApp = createJobApp({
      app: uniqueName('range-etl'),
      host,
      manifestsDir: app.manifestsDir,
      wholeRange: true,
      manifest: {
        schedules: [
          { name: 'daily', cron: '0 7 * * *', timezone: 'Pacific/Kiritimati', run: 'job', job: 'daily-processor' },
        ],
      },
    });
    worker = await startTestWorker({
      taskQueue,
      hosts: [host],
      activities: { manifestsDir: app.manifestsDir, databaseUrl },
    });
    temporal = await connectClient();
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await db?.end();
    await Promise.all([smtp?.close(), busySmtp?.close()]);
  });

  it('runs a three-day range: one failing date does not stop the others; two OK and one FAILED are recorded and one summary is mailed', async () => {
    const workflowId = uniqueName('job-range');
    const handle = await temporal.client.workflow.start('job', {
      taskQueue,
      workflowId,
      args: [{ app: app.app, job: JOB, from: '2025-12-01', to: '2025-12-03', mode: 'auto' }],
    });
    const error = await handle.result().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe('JobFailed');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('1 of 3 date(s) of daily-processor FAILED: 2025-12-02');
    expect(failure.message).toContain('divergence source for 2025-12-02 is missing');
    const report = failure.details?.[0] as RunReport;
    expect(report).toMatchObject({ kind: 'job', app: app.app, outcome: 'failed', workflowId });
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['2025-12-01', 'succeeded'],
      ['2025-12-02', 'failed'],
      ['2025-12-03', 'succeeded'],
    ]);

    // Every date ran in auto mode; the failing one twice (retries: 1), the others once.
    const dates = app
      .invocations()
      .map((argv) => argv[argv.indexOf('--data-inicio') + 1])
      .sort();
    expect(dates).toEqual(['2025-12-01', '2025-12-02', '2025-12-02', '2025-12-03']);
    expect(app.invocations().every((argv) => argv[argv.indexOf('--modo') + 1] === 'auto')).toBe(true);

    const { rows: operations } = await db.query(
      `SELECT date::text, status, exit_code, attempts, stdout_tail, stderr_tail FROM runbook.job_operation_log WHERE workflow_id = $1 ORDER BY date`,
      [workflowId],
    );
    expect(operations.map((o) => [o.date, o.status, o.exit_code, o.attempts])).toEqual([
      ['2025-12-01', 'OK', 0, 1],
      ['2025-12-02', 'FAILED', 3, 2],
      ['2025-12-03', 'OK', 0, 1],
    ]);
    expect(operations[0].stdout_tail).toContain('processing 2025-12-01 in mode auto');
    expect(operations[1].stderr_tail).toContain('divergence source for 2025-12-02 is missing');
    const { rows: sessions } = await db.query(
      `SELECT status, mode, date_from::text, date_to::text, dates_total, dates_ok, dates_failed, url FROM runbook.job_sessions WHERE workflow_id = $1`,
      [workflowId],
    );
    const link = runUrl(process.env.TEMPORAL_UI_URL as string, 'default', workflowId, report.runId);
    expect(sessions).toEqual([
      {
        status: 'FAILED',
        mode: 'auto',
        date_from: '2025-12-01',
        date_to: '2025-12-03',
        dates_total: 3,
        dates_ok: 2,
        dates_failed: 1,
        url: link,
      },
    ]);
    const { rows: dashboard } = await db.query(
      `SELECT last_status, last_dates_ok, last_dates_failed FROM runbook.job_dashboard WHERE app = $1`,
      [app.app],
    );
    expect(dashboard).toEqual([{ last_status: 'FAILED', last_dates_ok: 2, last_dates_failed: 1 }]);
    const { rows: runs } = await db.query(`SELECT kind, outcome, summary FROM runbook.runs WHERE workflow_id = $1`, [
      workflowId,
    ]);
    expect(runs).toEqual([
      { kind: 'job', outcome: 'failed', summary: '2025-12-01..2025-12-03 (auto): 2 OK, 1 FAILED — failed: 2025-12-02' },
    ]);
    // Like every run, the job leaves its line in the app's deploy log on its host.
    const manifest = loadManifestFile(path.join(app.manifestsDir, `${app.app}.yaml`));
    if (!manifest.ok) throw new Error('job app manifest is invalid');
    expect(
      (await readWholeDeployLog(appPaths(manifest.manifest).deployLog)).lines.filter(
        (line) => line.workflowId === workflowId,
      ),
    ).toEqual([
      expect.objectContaining({
        kind: 'job',
        outcome: 'failed',
        summary: '2025-12-01..2025-12-03 (auto): 2 OK, 1 FAILED — failed: 2025-12-02',
      }),
    ]);

    // One message for the run (job.summary), though it also raised job.failed.
    const mails = mailsOf(smtp, workflowId);
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail.subject).toBe(
      `[runbook] ${app.app}: job daily-processor FAILED — 2025-12-01..2025-12-03 (auto): 2 OK, 1 FAILED — failed: 2025-12-02`,
    );
    expect(mail.from?.text).toBe('runbook@example.com');
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((a) => a.address) : []).toEqual([
      'controller@example.com',
      'analista@example.com',
    ]);
    expect(mail.messageId).toMatch(/^<runbook\.[0-9a-f]{32}@example\.com>$/);
    expect(mail.text).toContain('divergence source for 2025-12-02 is missing');
    expect(mail.text).toMatch(/FAILED\s+2025-12-02/);
    expect(mail.text).toContain(link);
    expect(mail.html).toContain(`href="${link.replace(/&/g, '&amp;')}"`);
    const { rows: sent } = await db.query(
      `SELECT event, channel, status, message_id FROM runbook.notifications WHERE workflow_id = $1`,
      [workflowId],
    );
    expect(sent).toEqual([{ event: 'job.summary', channel: 'email-smtp', status: 'sent', message_id: mail.messageId }]);
  });

  it('passes the detect-only mode to the command in manual mode', async () => {
    const before = app.invocations().length;
    const report = await temporal.client.workflow.execute('job', {
      taskQueue,
      workflowId: uniqueName('job-manual'),
      args: [{ app: app.app, job: JOB, date: '2025-12-05', mode: 'manual' }],
    });
    expect(report).toMatchObject({ outcome: 'succeeded', summary: '2025-12-05 (manual): 1 OK, 0 FAILED' });
    expect(app.invocations().slice(before)).toEqual([
      ['--modo', 'manual', '--data-inicio', '2025-12-05', '--data-fim', '2025-12-05'],
    ]);
  });

  it("range: whole runs the range in one call; a run without a date takes its schedule's time zone", async () => {
    const report = await temporal.client.workflow.execute('job', {
      taskQueue,
      workflowId: uniqueName('job-whole-range'),
      args: [{ app: rangeApp.app, job: JOB, from: '2025-12-01', to: '2025-12-05' }],
    });
    expect(report).toMatchObject({ outcome: 'succeeded', summary: '2025-12-01..2025-12-05 (auto): 1 OK, 0 FAILED' });
    expect(report.steps.map((s: { name: string }) => s.name)).toEqual(['2025-12-01..2025-12-05']);
    expect(rangeApp.invocations()).toEqual([
      ['--modo', 'auto', '--data-inicio', '2025-12-01', '--data-fim', '2025-12-05'],
    ]);

    const today = await temporal.client.workflow.execute('job', {
      taskQueue,
      workflowId: uniqueName('job-today'),
      args: [{ app: rangeApp.app, job: JOB }],
    });
    const inZone = new Intl.DateTimeFormat('en-CA', { timeZone: 'Pacific/Kiritimati' }).format(new Date());
    expect(today.details).toMatchObject({ timezone: 'Pacific/Kiritimati', from: inZone, to: inZone });
  });

  it('refuses a mode the job does not have, naming the field, without running anything', async () => {
    const before = app.invocations().length;
    const error = await temporal.client.workflow
      .execute('job', {
        taskQueue,
        workflowId: uniqueName('job-bad-mode'),
        args: [{ app: app.app, job: JOB, date: '2025-12-05', mode: 'turbo' }],
      })
      .catch((e: unknown) => e);
    const failure = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      `the job ${app.app}/daily-processor cannot start: mode: 'turbo' is not a mode of the job daily-processor; expected one of manual, auto`,
    );
    expect(app.invocations()).toHaveLength(before);
  });

  it('delivers exactly one mail when the SMTP server refuses the first attempts', async () => {
    const workflowId = uniqueName('job-busy-smtp');
    const report = await temporal.client.workflow.execute('job', {
      taskQueue,
      workflowId,
      args: [{ app: busyApp.app, job: JOB, date: '2025-12-04' }],
    });
    expect(report.outcome).toBe('succeeded');
    expect(busySmtp.attempts()).toBe(3);
    expect(mailsOf(busySmtp, workflowId)).toHaveLength(1);
    expect(busySmtp.mails).toHaveLength(1);
    expect(busySmtp.mails[0].subject).toContain(`${busyApp.app}: job daily-processor succeeded`);
    const { rows } = await db.query(
      `SELECT status, attempts, last_error FROM runbook.notifications WHERE workflow_id = $1`,
      [workflowId],
    );
    expect(rows).toEqual([{ status: 'sent', attempts: 3, last_error: expect.stringContaining('451') }]);
  });

  it('stops the running command and records the session as CANCELLED when the run is cancelled', async () => {
    const workflowId = uniqueName('job-cancel');
    const handle = await temporal.client.workflow.start('job', {
      taskQueue,
      workflowId,
      args: [{ app: app.app, job: JOB, date: '2025-12-20' }],
    });
    await waitFor(async () => {
      if (!app.slowPid('2025-12-20')) throw new Error('the processor has not started yet');
    }, 20_000);
    const pid = app.slowPid('2025-12-20') as number;
    expect(isAlive(pid)).toBe(true);

    await handle.cancel();
    const error = await handle.result().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(isAlive(pid)).toBe(false);
    const { rows } = await db.query(
      `SELECT status, dates_ok, dates_failed FROM runbook.job_sessions WHERE workflow_id = $1`,
      [workflowId],
    );
    expect(rows).toEqual([{ status: 'CANCELLED', dates_ok: 0, dates_failed: 0 }]);
  });

  it('runs on the schedule its manifest declares: applied, then backfilled over a missed week at 07:00 America/Sao_Paulo, each day processed', async () => {
    const before = app.invocations().length;
    const loaded = loadManifestFile(path.join(app.manifestsDir, `${app.app}.yaml`));
    if (!loaded.ok) throw new Error('job app manifest invalid');
    const name = uniqueName('daily').toLowerCase();
    const manifest = {
      ...loaded.manifest,
      schedules: [
        {
          name,
          cron: '0 7 * * *',
          timezone: 'America/Sao_Paulo',
          run: 'job' as const,
          job: JOB,
          mode: 'auto',
          overlap: 'skip' as const,
          catchupWindow: '1d',
          deadline: '1h',
          paused: true,
        },
      ],
    };
    const [change] = await applySchedules(temporal.client, manifest, { taskQueue });
    expect(change).toMatchObject({ change: 'created', scheduleId: scheduleId(app.app, name) });
    try {
      // 07:00 in São Paulo is 10:00 UTC: the week of 2025-11-10..16.
      await backfillSchedule(
        temporal.client,
        change.scheduleId,
        new Date('2025-11-10T09:00:00Z'),
        new Date('2025-11-16T11:00:00Z'),
      );
      await waitFor(
        async () => {
          const { rows } = await db.query(
            `SELECT count(*)::int AS n FROM runbook.job_sessions WHERE app = $1 AND workflow_id LIKE $2 AND status = 'OK'`,
            [app.app, `job-${app.app}-${JOB}%`],
          );
          if (rows[0].n < 7) throw new Error(`${rows[0].n} of 7 backfilled runs done`);
        },
        90_000,
        500,
      );
    } finally {
      await deleteSchedule(temporal.client, change.scheduleId);
    }
    const { rows } = await db.query(
      `SELECT date_from::text AS date, date_to::text AS last FROM runbook.job_sessions WHERE app = $1 AND workflow_id LIKE $2 ORDER BY date_from`,
      [app.app, `job-${app.app}-${JOB}%`],
    );
    const week = ['2025-11-10', '2025-11-11', '2025-11-12', '2025-11-13', '2025-11-14', '2025-11-15', '2025-11-16'];
    expect(rows.map((r) => r.date)).toEqual(week);
    expect(rows.every((r) => r.date === r.last)).toBe(true);
    const processed = app
      .invocations()
      .slice(before)
      .map((argv) => argv[argv.indexOf('--data-inicio') + 1])
      .sort();
    expect(processed).toEqual(week);
  }, 120_000);
});
