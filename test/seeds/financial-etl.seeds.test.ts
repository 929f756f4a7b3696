import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jobWorkflowId } from '../../src/common/contracts';
import { applySchedules, backfillSchedule, deleteSchedule, scheduleId } from '../../src/client/schedules';
import { freePort } from '../../src/devserver/ports';
import { parseManifest } from '../../src/manifest/load';
import { createDatabase, queryColumn, waitFor } from '../support/postgres';
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

/*
 * Seed 001, the Financial ETL divergence processor: examples/financial-etl.yaml deployed as written (paths,
 * host, ports and repository rewritten) on a real systemd server: the audit schema created from its SQL once,
 * the connection test, the API under systemd, the processor's logs and CSV reports shared across releases;
 * the 07:00 job in São Paulo time through a real Temporal Schedule, a manual run dated in that zone, and the
 * guide's own range test as one call over --data-inicio … --data-fim, with the summary mailed over SMTP.
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

  const api = async (pathname: string) =>
    (await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(3_000) })).json() as Promise<
      Record<string, string>
    >;
  const sessions = async () =>
    (
      await queryColumn(
        databaseUrl,
        "SELECT concat_ws(' ', modo, data_inicio::text, data_fim::text) FROM audit.sessoes_processamento ORDER BY id",
      )
    ).map(String);
  const startJob = async (input: Record<string, unknown>) => {
    const handle = await temporal.client.workflow.start('job', {
      taskQueue: run.taskQueue,
      workflowId: jobWorkflowId('financial-etl', 'daily-processor', uniqueName('run')),
      args: [{ app: 'financial-etl', job: 'daily-processor', ...input }],
    });
    return runOutcome(temporal.client, handle.workflowId);
  };

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
        'SMTP_USER=etl',
        'SMTP_PASSWORD=app-password-1234',
        'SMTP_FROM=etl@empresa.example',
        'NOTIFICATION_RECIPIENTS=controller@empresa.example,analista@empresa.example',
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
    run = await startSeedRun({
      client: temporal.client,
      app: 'financial-etl',
      host,
      dir,
      machine,
      manifestText,
    });
  });
  afterAll(async () => {
    await deleteSchedule(temporal.client, scheduleId('financial-etl', 'daily-processor')).catch(() => undefined);
    await run?.stop();
    await machine.exec(['systemctl', 'stop', 'financial-etl-api']);
    await smtp?.close();
    await temporal?.close();
  });

  it('deploys main: the audit schema from its SQL, the connection test, the API under systemd', async () => {
    repo.commit(financialEtlFiles('v1', wheel), 'financial-etl v1', 'v1');
    const first = await run.deploy({ ref: 'main' });
    expect([first.report.outcome, first.report.error]).toEqual(['succeeded', undefined]);
    expect(await api('/')).toEqual({ service: 'financial-etl', version: 'v1' });
    expect(await api('/api/health')).toEqual({ status: 'healthy', database: 'ok' });
    const current = readlinkSync(path.join(root, 'current'));
    for (const shared of ['.env', 'src/financial_etl/logs', 'Datasets'])
      expect(readlinkSync(path.join(root, current, shared))).toBe(path.join(root, 'shared', shared));
  });

  it('runs the schema SQL once: a second deploy skips it (its CREATEs would fail)', async () => {
    repo.commit(financialEtlFiles('v2', wheel), 'financial-etl v2', 'v2');
    const second = await run.deploy({ ref: 'main' });
    expect([second.report.outcome, second.report.error]).toEqual(['succeeded', undefined]);
    const schema = second.report.steps.find((s) => s.name === 'migrate: create audit schema');
    expect(schema).toMatchObject({ status: 'succeeded', detail: expect.stringMatching(/^runs once: done by deploy /) });
    expect(await api('/')).toMatchObject({ version: 'v2' });
  });

  it("runs the guide's range test as one call over --data-inicio … --data-fim, and mails the summary", async () => {
    const ranged = await startJob({ from: '2025-12-01', to: '2025-12-05', mode: 'auto' });
    expect([ranged.report.outcome, ranged.report.error]).toEqual(['succeeded', undefined]);
    expect(ranged.report.steps.map((s) => s.name)).toEqual(['2025-12-01..2025-12-05']);
    expect(await sessions()).toEqual(['auto 2025-12-01 2025-12-05']);
    expect(readdirSync(path.join(root, 'shared', 'Datasets'))).toEqual(['divergencias_2025-12-01_2025-12-05.csv']);
    expect(
      readFileSync(path.join(root, 'shared', 'src/financial_etl/logs', 'daily_processor_2025-12-05.log'), 'utf8'),
    ).toMatch(/auto 2025-12-01\.\.2025-12-05 OK/);
    await waitFor(async () => {
      const recipients = smtp.mails
        .flatMap((m) => (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []))
        .map((a) => a.text);
      if (!recipients.some((to) => to.includes('controller@empresa.example'))) throw new Error('no mail yet');
    }, 30_000);
  });

  it('dates a manual run without --date in the schedule’s time zone, not UTC', async () => {
    const manual = await startJob({ mode: 'manual' });
    expect([manual.report.outcome, manual.report.error]).toEqual(['succeeded', undefined]);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo' }).format(new Date());
    expect(manual.report.details).toMatchObject({ timezone: 'America/Sao_Paulo', from: today, to: today });
    expect((await sessions()).at(-1)).toBe(`manual ${today} ${today}`);
  });

  it('runs the 07:00 processor from a real Schedule in São Paulo time, for the day it was scheduled', async () => {
    const parsed = parseManifest(manifestText);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const manifest = { ...parsed.manifest, schedules: parsed.manifest.schedules.filter((s) => s.run === 'job') };
    await applySchedules(temporal.client, manifest, { taskQueue: run.taskQueue });
    const id = scheduleId('financial-etl', 'daily-processor');
    const description = await temporal.client.schedule.getHandle(id).describe();
    expect(description.spec).toMatchObject({ timezone: 'America/Sao_Paulo' });
    // 07:00 in São Paulo on 2025-12-03 is 10:00 UTC
    await backfillSchedule(temporal.client, id, new Date('2025-12-03T09:59:00Z'), new Date('2025-12-03T10:01:00Z'));
    await waitFor(async () => expect(await sessions()).toContain('auto 2025-12-03 2025-12-03'), 120_000, 1_000);
    expect(existsSync(path.join(root, 'shared', 'Datasets', 'divergencias_2025-12-03_2025-12-03.csv'))).toBe(true);
  });
});
