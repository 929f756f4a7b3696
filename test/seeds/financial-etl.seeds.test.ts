import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ParsedMail } from 'mailparser';
import { listDump } from '../../src/activities/postgres';
import { applySchedules, backfillSchedule, deleteSchedule, triggerSchedule } from '../../src/client/schedules';
import { backupWorkflowId, jobWorkflowId, restoreWorkflowId, scheduleId } from '../../src/common/names';
import { freePort } from '../../src/devserver/ports';
import { parseManifest } from '../../src/manifest/load';
import { createDatabase, queryColumn, sql, waitFor } from '../support/postgres';
import { runOutcome } from '../support/runs';
import { financialEtlFiles, financialEtlUnit } from '../support/seed-apps/financial-etl';
import { createGitRepo, type GitRepo } from '../support/seed-apps/git-repo';
import { readWheel } from '../support/seed-apps/orquetask';
import { rewriteExample, startSeedRun, type SeedRun } from '../support/seed-apps/seed-run';
import { writeStandinWheel } from '../support/seed-apps/wheel';
import { seedMachine, seedScratchDir } from '../support/seed-services';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { connectClient, uniqueName } from '../support/temporal';

jest.setTimeout(300_000);

const RECIPIENTS = ['controller@empresa.example', 'analista@empresa.example'];
const ZONE = 'America/Sao_Paulo';

/*
 * Seed 001, the Financial ETL divergence processor: examples/financial-etl.yaml deployed as written (paths,
 * host, ports and repository rewritten) by a worker on a real systemd server: the audit schema created from
 * its SQL once (the first deploy's snapshot finds no schema yet), the connection test, the API under systemd,
 * the processor's logs and CSV reports shared across releases; a release whose /api/health fails rolled back;
 * the guide's range test as one call over --data-inicio … --data-fim with the summary mailed over SMTP; a
 * manual run dated in São Paulo; the 07:00 job through a real Temporal Schedule in São Paulo time; and the
 * guide's backup (pg_dump -n audit -F c, the logs as tar.gz) and restore.
 */
describe('Financial ETL (seed 001) under a real systemd', () => {
  const machine = seedMachine();
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let dir: string;
  let root: string;
  let repo: GitRepo;
  let wheel: Buffer;
  let port: number;
  let databaseUrl: string;
  let smtp: TestSmtpServer;
  let run: SeedRun;
  let manifestText: string;
  let firstRelease: string;
  let goodRelease: string;

  const api = async (pathname: string) =>
    (await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(3_000) })).json() as Promise<
      Record<string, string>
    >;
  const current = () => path.basename(readlinkSync(path.join(root, 'current')));
  const sessions = async () =>
    (
      await queryColumn(
        databaseUrl,
        "SELECT concat_ws(' ', modo, data_inicio::text, data_fim::text) FROM audit.sessoes_processamento ORDER BY id",
      )
    ).map(String);
  const todayInSaoPaulo = () => new Intl.DateTimeFormat('en-CA', { timeZone: ZONE }).format(new Date());
  const recipientsOf = (mail: ParsedMail) =>
    (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((a) => a.value.map((v) => v.address));
  const mailWithSubject = async (subject: RegExp) => {
    await waitFor(async () => {
      if (!smtp.mails.some((m) => subject.test(m.subject ?? ''))) throw new Error(`no mail '${subject}' yet`);
    }, 30_000);
    return smtp.mails.find((m) => subject.test(m.subject ?? '')) as ParsedMail;
  };
  const startRun = async (type: 'job' | 'backup' | 'restore', workflowId: string, input: Record<string, unknown>) => {
    const handle = await temporal.client.workflow.start(type, {
      taskQueue: run.taskQueue,
      workflowId,
      args: [{ app: 'financial-etl', ...input }],
    });
    return runOutcome(temporal.client, handle.workflowId);
  };
  /** The outcome of the schedule's `count`-th run (triggered or backfilled), once it has ended. */
  const scheduledRun = async (id: string, count: number) => {
    let started: { workflowId: string; firstExecutionRunId: string } | undefined;
    await waitFor(
      async () => {
        const { recentActions } = (await temporal.client.schedule.getHandle(id).describe()).info;
        if (recentActions.length < count) throw new Error(`${recentActions.length} of ${count} scheduled runs started`);
        started = recentActions[count - 1].action.workflow;
      },
      60_000,
      500,
    );
    return runOutcome(temporal.client, started!.workflowId, started!.firstExecutionRunId);
  };
  const startJob = (input: Record<string, unknown>) =>
    startRun('job', jobWorkflowId('financial-etl', 'daily-processor', uniqueName('run')), {
      job: 'daily-processor',
      ...input,
    });

  beforeAll(async () => {
    temporal = await connectClient();
    dir = seedScratchDir(uniqueName('financial-etl'));
    root = path.join(dir, 'srv', 'financial-etl');
    repo = createGitRepo(path.join(dir, 'repo'));
    wheel = readWheel(await writeStandinWheel(dir));
    port = await freePort();
    databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL!, uniqueName('financeiro').replace(/-/g, '_'));
    smtp = await startSmtpServer();
    const db = new URL(databaseUrl);

    // What the guide has the operator do once on the server: the .env, and a systemd unit for the API.
    mkdirSync(path.join(root, 'shared'), { recursive: true });
    writeFileSync(
      path.join(root, 'shared', '.env'),
      [
        `DB_HOST=${db.hostname}`,
        `DB_PORT=${db.port}`,
        `DB_NAME=${db.pathname.slice(1)}`,
        `DB_USER=${db.username}`,
        'DB_PASSWORD=not-used-trust-auth',
        `DATABASE_URL=${databaseUrl}`,
        `SMTP_HOST=${smtp.host}`,
        `SMTP_PORT=${smtp.port}`,
        // the test SMTP server offers no AUTH (a relay inside the network), so these are not sent
        'SMTP_USER=etl',
        'SMTP_PASSWORD=app-password-1234',
        'SMTP_FROM=etl@empresa.example',
        `NOTIFICATION_RECIPIENTS=${RECIPIENTS.join(',')}`,
        'ENVIRONMENT=PRODUCTION',
        // no package index on this server: pip works from the release's wheels only
        'PIP_NO_INDEX=1',
        '',
      ].join('\n'),
    );
    await machine.writeFile('/etc/systemd/system/financial-etl-api.service', financialEtlUnit(root, port));
    await machine.systemctl('daemon-reload');

    const host = uniqueName('etl');
    manifestText = rewriteExample('financial-etl', [
      ['host: etl-1', `host: ${host}`],
      ['/srv/financial-etl', root],
      ['https://git.example.com/financeiro/financial-etl-framework.git', repo.url],
      ['http://127.0.0.1:8000/', `http://127.0.0.1:${port}/`],
      ["'smtp.gmail.com:587'", `'${smtp.host}:${smtp.port}'`],
    ]);
    run = await startSeedRun({ client: temporal.client, app: 'financial-etl', host, dir, machine, manifestText });
  });
  afterAll(async () => {
    for (const name of ['daily-processor', 'audit-backup', 'log-archive'])
      await deleteSchedule(temporal.client, scheduleId('financial-etl', name)).catch(() => undefined);
    await run?.stop();
    await machine.exec(['systemctl', 'stop', 'financial-etl-api']);
    await smtp?.close();
    await temporal?.close();
  });

  it('deploys main: the audit schema created from its SQL, the connection test, the API under systemd', async () => {
    repo.commit(financialEtlFiles('v1', wheel), 'financial-etl v1', 'v1');
    const first = await run.deploy({ ref: 'main' });
    expect([first.report.outcome, first.report.error]).toEqual(['succeeded', undefined]);
    firstRelease = current();
    // the snapshot before the migrations found no audit schema yet: a snapshot of nothing, not a failing pg_dump
    expect(first.report.steps.find((s) => s.name === 'snapshot database')).toMatchObject({
      status: 'succeeded',
      message: expect.stringMatching(new RegExp(`financial-etl-${firstRelease}\\.sql$`)),
    });
    expect(first.report.steps.find((s) => s.name === 'migrate: create audit schema')).toMatchObject({
      status: 'succeeded',
      message: expect.stringMatching(/^exit 0/),
    });
    expect(first.report.steps.find((s) => s.name === 'migrate: connection test')).toMatchObject({
      status: 'succeeded',
    });
    // the guide's check (5.2): the audit tables exist
    expect(
      await queryColumn(
        databaseUrl,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'audit' ORDER BY 1",
      ),
    ).toEqual(['operacoes', 'sessoes_processamento']);
    expect((await machine.exec(['systemctl', 'is-active', 'financial-etl-api'])).stdout.trim()).toBe('active');
    expect(await api('/')).toEqual({ service: 'financial-etl', version: 'v1' });
    expect(await api('/api/health')).toEqual({ status: 'healthy', database: 'ok' });
    for (const shared of ['.env', 'src/financial_etl/logs', 'Datasets'])
      expect(readlinkSync(path.join(root, 'releases', firstRelease, shared))).toBe(path.join(root, 'shared', shared));
  });

  it('runs the schema SQL once: the second deploy skips it (its CREATEs would fail) and snapshots the schema', async () => {
    repo.commit(financialEtlFiles('v2', wheel), 'financial-etl v2', 'v2');
    const second = await run.deploy({ ref: 'main' });
    expect([second.report.outcome, second.report.error]).toEqual(['succeeded', undefined]);
    goodRelease = current();
    expect(goodRelease).not.toBe(firstRelease);
    expect(second.report.steps.find((s) => s.name === 'migrate: create audit schema')).toMatchObject({
      status: 'succeeded',
      message: `runs once: done by deploy ${firstRelease}`,
    });
    expect(second.report.steps.find((s) => s.name === 'snapshot database')?.message).toMatch(
      new RegExp(`financial-etl-${goodRelease}\\.dump$`),
    );
    expect(await api('/')).toMatchObject({ version: 'v2' });
  });

  it('rolls back a release whose /api/health fails: v2 serves again, the audit data stays, mail to the recipients', async () => {
    await sql(
      databaseUrl,
      "INSERT INTO audit.sessoes_processamento (tipo_sessao, modo, data_inicio, data_fim, status) VALUES ('MANUAL', 'manual', '2025-11-28', '2025-11-28', 'SUCCESS')",
    );
    repo.commit(financialEtlFiles('v3', wheel, { brokenHealth: true }), 'financial-etl v3', 'v3');
    const broken = await run.deploy({ ref: 'main' });
    expect([broken.report.outcome, broken.report.error]).toEqual(['rolled_back', expect.stringMatching(/api health/)]);
    expect(current()).toBe(goodRelease);
    await waitFor(async () => expect(await api('/')).toMatchObject({ version: 'v2' }), 30_000, 500);
    expect(await api('/api/health')).toEqual({ status: 'healthy', database: 'ok' });
    // rollback.database: never — the audit rows written before the deploy are all there
    expect(await sessions()).toEqual(['manual 2025-11-28 2025-11-28']);
    const mail = await mailWithSubject(/financial-etl: deploy main ROLLED BACK/);
    expect(recipientsOf(mail)).toEqual(RECIPIENTS);
    expect(mail.from?.value.map((v) => v.address)).toEqual(['etl@empresa.example']);
  });

  it("runs the guide's range test as one call over --data-inicio … --data-fim, and mails the summary", async () => {
    await sql(databaseUrl, 'TRUNCATE audit.operacoes, audit.sessoes_processamento');
    const ranged = await startJob({ from: '2025-12-01', to: '2025-12-05', mode: 'auto' });
    expect([ranged.report.outcome, ranged.report.error]).toEqual(['succeeded', undefined]);
    expect(ranged.report.steps.map((s) => s.name)).toEqual(['2025-12-01..2025-12-05']);
    expect(await sessions()).toEqual(['auto 2025-12-01 2025-12-05']);
    expect(await queryColumn(databaseUrl, 'SELECT count(*)::int FROM audit.operacoes')).toEqual([1]);
    // the log and the CSV report land in the shared folders the release links
    expect(readdirSync(path.join(root, 'shared', 'Datasets'))).toEqual(['divergencias_2025-12-01_2025-12-05.csv']);
    expect(
      readFileSync(path.join(root, 'shared', 'src/financial_etl/logs', 'daily_processor_2025-12-05.log'), 'utf8'),
    ).toMatch(/auto 2025-12-01\.\.2025-12-05 OK/);
    const mail = await mailWithSubject(/financial-etl: job daily-processor succeeded/);
    expect(recipientsOf(mail)).toEqual(RECIPIENTS);
    expect(mail.text).toContain('2025-12-01..2025-12-05');
  });

  it('dates a manual run without --date in the schedule’s time zone', async () => {
    const manual = await startJob({ mode: 'manual' });
    expect([manual.report.outcome, manual.report.error]).toEqual(['succeeded', undefined]);
    const today = todayInSaoPaulo();
    expect(manual.report.details).toMatchObject({ timezone: ZONE, from: today, to: today });
    expect((await sessions()).at(-1)).toBe(`manual ${today} ${today}`);
  });

  it('runs the 07:00 processor from a real Schedule in São Paulo time: at 10:00 UTC, for the São Paulo date', async () => {
    const parsed = parseManifest(manifestText);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const changes = await applySchedules(temporal.client, parsed.manifest, { taskQueue: run.taskQueue });
    expect(changes.map((c) => [c.name, c.change])).toEqual([
      ['daily-processor', 'created'],
      ['audit-backup', 'created'],
      ['log-archive', 'created'],
    ]);
    const id = scheduleId('financial-etl', 'daily-processor');
    const description = await temporal.client.schedule.getHandle(id).describe();
    expect(description.spec.timezone).toBe(ZONE);
    // 07:00 in São Paulo (UTC−3, no summer time) is 10:00 UTC, every day
    const next = description.info.nextActionTimes;
    expect(next.length).toBeGreaterThanOrEqual(2);
    expect(next.map((t) => t.toISOString().slice(11))).toEqual(next.map(() => '10:00:00.000Z'));
    expect(next[0].getTime() - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
    expect(next[1].getTime() - next[0].getTime()).toBe(24 * 3_600_000);

    // run now, as the operator's "run the scheduled task" does: for today in São Paulo
    await triggerSchedule(temporal.client, id);
    const triggered = await scheduledRun(id, 1);
    const today = todayInSaoPaulo();
    expect([triggered.report.outcome, triggered.report.error]).toEqual(['succeeded', undefined]);
    expect(triggered.report.details).toMatchObject({ mode: 'auto', timezone: ZONE, from: today, to: today });
    expect((await sessions()).at(-1)).toBe(`auto ${today} ${today}`);

    // the 07:00 run of 2025-12-03 (10:00 UTC), as a missed run caught up: for that day
    await backfillSchedule(temporal.client, id, new Date('2025-12-03T09:59:00Z'), new Date('2025-12-03T10:01:00Z'));
    const caughtUp = await scheduledRun(id, 2);
    expect([caughtUp.report.outcome, caughtUp.report.error]).toEqual(['succeeded', undefined]);
    expect(caughtUp.report.details).toMatchObject({ logicalDate: '2025-12-03', from: '2025-12-03', to: '2025-12-03' });
    expect((await sessions()).at(-1)).toBe('auto 2025-12-03 2025-12-03');
    expect(existsSync(path.join(root, 'shared', 'Datasets', 'divergencias_2025-12-03_2025-12-03.csv'))).toBe(true);
  });

  it('backs up the audit schema (pg_dump -n audit -F c) and the logs (tar.gz), and restores the audit schema', async () => {
    const backup = await startRun('backup', backupWorkflowId('financial-etl', undefined, uniqueName('t')), {});
    expect([backup.report.outcome, backup.report.error]).toEqual(['succeeded', undefined]);
    const artifacts = (backup.report.details as { artifacts: Array<{ id: string; target: string; file: string }> })
      .artifacts;
    expect(artifacts.map((a) => a.target)).toEqual(['audit', 'logs']);
    expect(backup.report.steps.find((s) => s.name === 'audit: verify restore')).toMatchObject({ status: 'succeeded' });
    const [audit] = artifacts;
    expect(audit.file).toMatch(/\.dump$/);
    expect((await listDump({ file: audit.file, format: 'custom' })).entries).toBeGreaterThan(0);

    const sessionsAtBackup = await sessions();
    await sql(databaseUrl, 'TRUNCATE audit.operacoes, audit.sessoes_processamento');
    const restore = await startRun('restore', restoreWorkflowId('financial-etl', uniqueName('t')), {
      backup: audit.id,
    });
    expect([restore.report.outcome, restore.report.error]).toEqual(['succeeded', undefined]);
    expect(await sessions()).toEqual(sessionsAtBackup);
    expect(await api('/api/health')).toEqual({ status: 'healthy', database: 'ok' });
  });
});
