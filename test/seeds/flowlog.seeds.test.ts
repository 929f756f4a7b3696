import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Progress } from '../../src/common/progress';
import { freePort } from '../../src/devserver/ports';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createDatabase, queryColumn, sql, waitFor } from '../support/postgres';
import { flowlogFiles, flowlogUnits } from '../support/seed-apps/flowlog';
import { createGitRepo, type GitRepo } from '../support/seed-apps/git-repo';
import { readWheel } from '../support/seed-apps/orquetask';
import { rewriteExample, startSeedRun, type SeedRun } from '../support/seed-apps/seed-run';
import { writeStandinWheel } from '../support/seed-apps/wheel';
import { seedMachine, seedScratchDir } from '../support/seed-services';
import { connectClient, uniqueName } from '../support/temporal';

jest.setTimeout(300_000);

/*
 * Seed 002, Flowlog: examples/flowlog.yaml deployed as written (paths, host, port and repository rewritten)
 * on a real systemd server: git pull of main, pip install, showmigrations, the --fake of a migration whose
 * column was created by hand and the real migrate in the same deploy (after an approval gate), collectstatic,
 * web and both Celery workers restarted, the guide's post-deploy checks (logs/django.log, notifications
 * going out as sent); a release that logs an ImportError is rolled back with no down-migration.
 */
describe('Flowlog (seed 002) under a real systemd', () => {
  const machine = seedMachine();
  const units = ['flowlog-web', 'flowlog-worker-default', 'flowlog-worker-whatsapp'];
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let dir: string;
  let root: string;
  let repo: GitRepo;
  let wheel: Buffer;
  let port: number;
  let databaseUrl: string;
  let redisUrl: string;
  let evolution: HttpRecorder;
  let run: SeedRun;

  const web = async (pathname = '/admin/login/') =>
    (await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(3_000) })).text();
  const version = async () => (JSON.parse(await web()) as { version: string }).version;
  const mainPids = async () =>
    Promise.all(units.map(async (u) => (await machine.systemctl('show', '-p', 'MainPID', '--value', u)).trim()));
  const current = () => path.basename(readlinkSync(path.join(root, 'current')));
  const sent = async () =>
    (await queryColumn(databaseUrl, "SELECT message FROM integrations_notificationlog WHERE status = 'sent'")).map(
      String,
    );
  /** The guide's post-deploy check: a notification queued through the web goes out as sent. */
  const notifyOrder = async (order: number) => {
    await waitFor(async () => expect(await web(`/orders/notify/?order=${order}`)).toBe('queued'), 60_000, 500);
    await waitFor(async () => expect(await sent()).toContain(`order ${order} shipped`), 60_000, 500);
  };

  beforeAll(async () => {
    temporal = await connectClient();
    dir = seedScratchDir(uniqueName('flowlog'));
    root = path.join(dir, 'srv', 'flowlog');
    repo = createGitRepo(path.join(dir, 'repo'));
    wheel = readWheel(await writeStandinWheel(dir));
    port = await freePort();
    databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL!, uniqueName('flowlog').replace(/-/g, '_'));
    redisUrl = `${process.env.RUNBOOK_TEST_REDIS_URL!.replace(/\/\d*$/, '')}/7`;
    evolution = await startHttpRecorder((request) =>
      request.path === '/instance/fetchInstances' && request.headers.apikey === 'evo-key-2f8a'
        ? { status: 200, body: '[]' }
        : { status: 401 },
    );

    mkdirSync(path.join(root, 'shared'), { recursive: true });
    writeFileSync(
      path.join(root, 'shared', '.env'),
      [
        `DATABASE_URL=${databaseUrl}`,
        `REDIS_URL=${redisUrl}`,
        `EVOLUTION_API_URL=${evolution.url}`,
        'EVOLUTION_API_KEY=evo-key-2f8a',
        '',
      ].join('\n'),
    );
    for (const [name, text] of Object.entries(flowlogUnits(root, port)))
      await machine.writeFile(`/etc/systemd/system/${name}`, text);
    await machine.systemctl('daemon-reload');

    const host = uniqueName('app');
    run = await startSeedRun({
      client: temporal.client,
      app: 'flowlog',
      host,
      dir,
      machine,
      manifestText: rewriteExample('flowlog', [
        ['host: app-1', `host: ${host}`],
        ['/srv/flowlog', root],
        ['git@git.example.com:flowlog/flowlog.git', repo.url],
        ['http://127.0.0.1:8000/', `http://127.0.0.1:${port}/`],
      ]),
    });
  });
  afterAll(async () => {
    await run?.stop();
    for (const unit of units) await machine.exec(['systemctl', 'stop', unit]);
    await evolution?.close();
    await temporal?.close();
  });

  it('refuses a branch other than main or production before touching the server', async () => {
    const refused = await run.deploy({ ref: 'feature/whatsapp-v2' });
    expect(refused.failure?.cause?.message).toMatch(
      /ref 'feature\/whatsapp-v2' may not be deployed to flowlog; allowed: main, production/,
    );
  });

  it('deploys main: migrate, collectstatic, web and both workers up, notifications going out as sent', async () => {
    repo.commit(flowlogFiles({ version: 'v1', orderMigrations: 1 }, wheel), 'Flowlog v1', 'v1');
    const handle = await run.startDeploy({ ref: 'main' });
    const outcome = run.outcome(handle);
    // the post-deploy check waits for a notification to go out, as the guide's does: send one
    // (the deploy may end as soon as the notification is marked sent, before this test has looked at it)
    const notified = notifyOrder(1);
    notified.catch(() => undefined);
    await Promise.race([
      notified,
      outcome.then((o) => {
        if (o.report?.outcome === 'succeeded') return notified;
        throw new Error(`the deploy ended ${o.report?.outcome ?? o.failure?.message}: ${o.report?.error}`);
      }),
    ]);
    const first = await outcome;
    expect([first.report.outcome, first.report.error]).toEqual(['succeeded', undefined]);
    expect(await version()).toBe('v1');
    for (const unit of units)
      expect((await machine.exec(['systemctl', 'is-active', unit])).stdout.trim()).toBe('active');
    expect(readlinkSync(path.join(root, 'releases', current(), 'logs'))).toBe(path.join(root, 'shared', 'logs'));
    expect(await queryColumn(databaseUrl, 'SELECT name FROM django_migrations WHERE app = $$orders$$')).toEqual([
      '0001_initial',
    ]);
  });

  it('fakes the migration of a column created by hand and migrates the rest in one deploy, after approval', async () => {
    // an operator added the column in production by hand, before its migration shipped
    await sql(databaseUrl, 'ALTER TABLE orders_order ADD COLUMN tracking_code text');
    repo.commit(flowlogFiles({ version: 'v2', orderMigrations: 3 }, wheel), 'Flowlog v2: tracking codes', 'v2');
    const before = await mainPids();
    const handle = await run.startDeploy({
      ref: 'main',
      params: { fakeApp: 'orders', fakeMigration: '0002_order_tracking_code' },
      requireApproval: true,
    });
    await waitFor(
      async () => {
        const progress = await handle.query<Progress>('progress');
        expect(progress.steps.find((s) => s.name === 'approval')?.status).toBe('waiting');
        expect(progress.steps.find((s) => s.name === 'install: show pending migrations')?.status).toBe('succeeded');
      },
      120_000,
      500,
    );
    // at the gate nothing is migrated yet and v1 still serves
    expect(
      await queryColumn(databaseUrl, 'SELECT count(*)::int FROM django_migrations WHERE app = $$orders$$'),
    ).toEqual([1]);
    expect(await version()).toBe('v1');
    await handle.signal('approve');
    const second = await run.outcome(handle);
    expect([second.report.outcome, second.report.error]).toEqual(['succeeded', undefined]);
    expect(second.report.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(['migrate: fake the migration of hand-made columns', 'migrate: migrate']),
    );
    expect(await version()).toBe('v2');
    expect(
      await queryColumn(databaseUrl, "SELECT name FROM django_migrations WHERE app = 'orders' ORDER BY name"),
    ).toEqual(['0001_initial', '0002_order_tracking_code', '0003_tracking_code_index']);
    expect(
      await queryColumn(databaseUrl, "SELECT indexname FROM pg_indexes WHERE indexname = 'orders_order_tracking_code'"),
    ).toHaveLength(1);
    // web and both Celery workers were restarted on the new release, and the whatsapp queue is served
    const after = await mainPids();
    after.forEach((pid, i) => expect(pid).not.toBe(before[i]));
    await notifyOrder(2);
  });

  it('rolls back a release whose django.log shows an ImportError: v2 serves again, no down-migration', async () => {
    const v2 = current();
    repo.commit(flowlogFiles({ version: 'v3', orderMigrations: 4, importError: true }, wheel), 'Flowlog v3', 'v3');
    const broken = await run.deploy({ ref: 'main' });
    expect([broken.report.outcome, broken.report.error]).toEqual([
      'rolled_back',
      expect.stringMatching(/no import errors in django\.log .* contains 'ImportError' since the restart/),
    ]);
    expect(current()).toBe(v2);
    await waitFor(async () => expect(await version()).toBe('v2'), 60_000, 500);
    // rollback.database: never — the guide forbids down-migrations; v2 runs on the migrated schema
    expect(
      await queryColumn(
        databaseUrl,
        "SELECT column_name FROM information_schema.columns WHERE column_name = 'carrier'",
      ),
    ).toEqual(['carrier']);
    for (const unit of units)
      expect((await machine.exec(['systemctl', 'is-active', unit])).stdout.trim()).toBe('active');
    await notifyOrder(3);
    const redis = new Redis(redisUrl);
    try {
      expect(await redis.llen('whatsapp')).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
