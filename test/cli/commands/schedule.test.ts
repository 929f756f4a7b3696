import { rmSync } from 'node:fs';
import { deleteSchedule, listSchedules, type ScheduleListing } from '../../../src/client/schedules';
import { freePort } from '../../../src/devserver/ports';
import { createBackupApp, type BackupApp } from '../../support/backup-app';
import { runCli } from '../../support/cli';
import { waitFor } from '../../support/postgres';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../../support/temporal';

jest.setTimeout(180_000);

describe('runbook schedule', () => {
  const taskQueue = uniqueName('schedule-cli');
  let shop: BackupApp;
  let worker: TestWorker;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    shop = await createBackupApp({
      prefix: 'cli',
      backups: { keep: { last: 10 } },
      extra: {
        schedules: [
          { name: 'nightly', cron: '0 2 * * *', timezone: 'America/Sao_Paulo', run: 'backup', target: 'db' },
          {
            name: 'weekly-uploads',
            cron: '30 2 * * 0',
            timezone: 'America/Sao_Paulo',
            run: 'backup',
            target: 'uploads',
            paused: true,
            note: 'not yet',
          },
        ],
      },
    });
    worker = await startTestWorker({
      taskQueue,
      hosts: [shop.host],
      activities: { manifestsDir: shop.manifestsDir, env: { ...process.env, ...shop.env } },
    });
    env = { RUNBOOK_MANIFESTS: shop.manifestsDir, RUNBOOK_TASK_QUEUE: taskQueue };
  });
  afterAll(async () => {
    const temporal = await connectClient();
    for (const s of await listSchedules(temporal.client, { app: shop.app }))
      await deleteSchedule(temporal.client, s.scheduleId).catch(() => undefined);
    await temporal.client.workflow
      .getHandle(`watch-${shop.app}`)
      .terminate('test over')
      .catch(() => undefined);
    await temporal.close();
    await worker?.stop();
    rmSync(shop.root, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(args, { env });
  const listed = async (): Promise<ScheduleListing[]> =>
    JSON.parse((await cli('schedule', 'list', shop.app, '--json')).stdout) as ScheduleListing[];

  it('applies the manifest schedules once; applying again changes nothing', async () => {
    const first = await cli('schedule', 'apply', shop.app, '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      taskQueue,
      changes: [
        { scheduleId: `runbook-${shop.app}-nightly`, name: 'nightly', app: shop.app, change: 'created' },
        { scheduleId: `runbook-${shop.app}-weekly-uploads`, name: 'weekly-uploads', app: shop.app, change: 'created' },
      ],
      watchers: [{ workflowId: `watch-${shop.app}`, started: true }],
    });
    const second = await cli('schedule', 'apply', shop.app);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      `= runbook-${shop.app}-nightly: unchanged\n= runbook-${shop.app}-weekly-uploads: unchanged\n` +
        `= watch-${shop.app}: already watching for missed runs\n`,
    );

    await waitFor(
      async () => expect((await listed()).map((s) => s.name)).toEqual(['nightly', 'weekly-uploads']),
      30_000,
      500,
    );
    const [nightly, weekly] = await listed();
    expect(nightly).toMatchObject({
      runs: 'backup db',
      cron: '0 2 * * *',
      timezone: 'America/Sao_Paulo',
      paused: false,
    });
    expect(nightly.nextRuns[0]).toMatch(/T05:00:00.000Z$/);
    expect(weekly).toMatchObject({ paused: true, note: 'not yet' });
    const human = await cli('schedule', 'list', shop.app);
    expect(human.stdout).toContain(
      `runbook-${shop.app}-weekly-uploads  backup uploads  30 2 * * 0 America/Sao_Paulo  PAUSED (not yet)`,
    );
  });

  it('pauses and unpauses with a note, by <app>/<name>', async () => {
    const paused = await cli('schedule', 'pause', `${shop.app}/nightly`, '--note', 'disk swap tonight', '--json');
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout)).toEqual({
      scheduleId: `runbook-${shop.app}-nightly`,
      paused: true,
      note: 'disk swap tonight',
    });
    expect((await listed()).find((s) => s.name === 'nightly')).toMatchObject({
      paused: true,
      note: 'disk swap tonight',
    });
    const unpaused = await cli('schedule', 'unpause', `runbook-${shop.app}-nightly`, '--note', 'done');
    expect(unpaused.stdout).toBe(`unpaused runbook-${shop.app}-nightly: done\n`);
    expect((await listed()).find((s) => s.name === 'nightly')).toMatchObject({ paused: false, note: 'done' });
  });

  it('triggers a run and backfills whole days in the schedule time zone', async () => {
    expect((await cli('schedule', 'trigger', `${shop.app}/nightly`)).code).toBe(0);
    const backfill = await cli(
      'schedule',
      'backfill',
      `${shop.app}/nightly`,
      '--from',
      '2025-01-01',
      '--to',
      '2025-01-02',
      '--json',
    );
    expect(backfill.code).toBe(0);
    expect(JSON.parse(backfill.stdout)).toEqual({
      scheduleId: `runbook-${shop.app}-nightly`,
      from: '2025-01-01',
      to: '2025-01-02',
      start: '2025-01-01T03:00:00.000Z',
      end: '2025-01-03T02:59:59.999Z',
      timezone: 'America/Sao_Paulo',
    });
    await waitFor(
      async () => {
        const runs = (await listed()).find((s) => s.name === 'nightly')?.recentRuns ?? [];
        expect(runs.map((r) => r.scheduledAt).filter((t) => t.startsWith('2025-01'))).toEqual([
          '2025-01-01T05:00:00.000Z',
          '2025-01-02T05:00:00.000Z',
        ]);
        expect(runs.length).toBe(3);
      },
      60_000,
      500,
    );
  });

  it('refuses bad input with exit 2 and a hint', async () => {
    const badDate = await cli(
      'schedule',
      'backfill',
      `${shop.app}/nightly`,
      '--from',
      '2025-02-30',
      '--to',
      '2025-03-01',
    );
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain("--from '2025-02-30' is not a date");
    const reversed = await cli(
      'schedule',
      'backfill',
      `${shop.app}/nightly`,
      '--from',
      '2025-03-02',
      '--to',
      '2025-03-01',
    );
    expect(reversed.code).toBe(2);
    const missing = await cli('schedule', 'pause', `${shop.app}/no-such-schedule`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`no schedule 'runbook-${shop.app}-no-such-schedule'`);
    expect(missing.stderr).toContain('runbook schedule list');
    const unknownApp = await cli('schedule', 'apply', 'no-such-app');
    expect(unknownApp.code).toBe(2);
    expect(unknownApp.stderr).toContain(`known apps: ${shop.app}`);
    const noOption = await cli('schedule', 'backfill', `${shop.app}/nightly`);
    expect(noOption.code).toBe(2);
  });

  it('exits 3 when Temporal cannot be reached', async () => {
    const result = await runCli(['schedule', 'list'], {
      env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot reach Temporal');
  });

  it('deletes a schedule', async () => {
    const deleted = await cli('schedule', 'delete', `${shop.app}/weekly-uploads`, '--json');
    expect(JSON.parse(deleted.stdout)).toEqual({ scheduleId: `runbook-${shop.app}-weekly-uploads`, deleted: true });
    await waitFor(async () => expect((await listed()).map((s) => s.name)).toEqual(['nightly']), 30_000, 500);
  });

  it.each(['apply', 'list', 'status', 'pause', 'unpause', 'trigger', 'backfill', 'delete'])(
    'schedule %s --help shows an example',
    async (sub) => {
      const help = await cli('schedule', sub, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Examples?:\n {2}\$ runbook schedule /);
    },
  );
});
