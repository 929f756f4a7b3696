import { rmSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  applySchedules,
  backfillSchedule,
  deleteSchedule,
  describeSchedule,
  desiredSchedule,
  listSchedules,
  pauseSchedule,
  scheduleSpecHash,
  triggerSchedule,
  unpauseSchedule,
} from '../../src/client/schedules';
import { startOfDayInZone } from '../../src/common/dates';
import { scheduleId } from '../../src/common/names';
import type { RunReport } from '../../src/common/progress';
import type { Manifest, Schedule } from '../../src/manifest/types';
import {
  createBackupApp,
  loadAppManifest,
  readCatalogueFile,
  rewriteManifest,
  type BackupApp,
} from '../support/backup-app';
import { waitFor } from '../support/postgres';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(240_000);

const SAO_PAULO = 'America/Sao_Paulo';

describe('schedule definitions', () => {
  const manifest = {
    app: 'financial-etl',
    schedules: [],
  } as unknown as Manifest;
  const job: Schedule = {
    name: 'daily-processor',
    cron: '0 7 * * *',
    timezone: SAO_PAULO,
    run: 'job',
    job: 'daily-processor',
    mode: 'auto',
    deadline: '1h',
    overlap: 'skip',
    catchupWindow: '1d',
    paused: false,
  };

  it('starts the job workflow with the schedule time zone in its input, skipping overlaps, catching up a day', () => {
    const desired = desiredSchedule(manifest, job, 'runbook');
    expect(desired.scheduleId).toBe('runbook-financial-etl-daily-processor');
    expect(desired.spec).toEqual({ cronExpressions: ['0 7 * * *'], timezone: SAO_PAULO });
    expect(desired.policies).toEqual({ overlap: 'SKIP', catchupWindow: 86_400_000 });
    expect(desired.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'job',
      workflowId: 'job-financial-etl-daily-processor',
      taskQueue: 'runbook',
      args: [{ app: 'financial-etl', job: 'daily-processor', mode: 'auto', timezone: SAO_PAULO }],
    });
    expect(desired.state).toEqual({ paused: false, note: undefined });
  });

  it('starts a restore drill of one target on a drill schedule', () => {
    const drill: Schedule = {
      ...job,
      name: 'weekly-drill',
      run: 'drill',
      target: 'audit',
      job: undefined,
      mode: undefined,
    };
    const desired = desiredSchedule(manifest, drill, 'runbook');
    expect(desired.action).toMatchObject({
      workflowType: 'drill',
      workflowId: 'drill-financial-etl-audit',
      args: [{ app: 'financial-etl', target: 'audit' }],
      memo: { runbook: expect.objectContaining({ runs: 'drill audit' }) },
    });
  });

  it('changes its hash when anything applied changes, and only then', () => {
    const hash = scheduleSpecHash(manifest, job, 'runbook');
    expect(scheduleSpecHash(manifest, { ...job }, 'runbook')).toBe(hash);
    expect(scheduleSpecHash(manifest, { ...job, mode: 'manual' }, 'runbook')).not.toBe(hash);
    expect(scheduleSpecHash(manifest, { ...job, cron: '0 8 * * *' }, 'runbook')).not.toBe(hash);
    expect(scheduleSpecHash(manifest, { ...job, catchupWindow: '2h' }, 'runbook')).not.toBe(hash);
    expect(scheduleSpecHash(manifest, job, 'other-queue')).not.toBe(hash);
  });
});

describe('Temporal Schedules from a manifest, on the real dev server', () => {
  const taskQueue = uniqueName('schedules');
  let shop: BackupApp;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let client: Client;

  const nightly = { name: 'nightly-db', cron: '0 1 * * *', timezone: SAO_PAULO, run: 'backup', target: 'db' };
  const weekly = {
    name: 'weekly-uploads',
    cron: '30 2 * * 0',
    timezone: SAO_PAULO,
    run: 'backup',
    target: 'uploads',
    overlap: 'buffer_one',
    catchupWindow: '2h',
    paused: true,
    note: 'waiting for the new disk',
  };

  beforeAll(async () => {
    shop = await createBackupApp({
      prefix: 'sched',
      backups: { keep: { last: 20 } },
      extra: { schedules: [nightly, weekly] },
    });
    worker = await startTestWorker({
      taskQueue,
      hosts: [shop.host],
      activities: { manifestsDir: shop.manifestsDir, env: { ...process.env, ...shop.env } },
    });
    temporal = await connectClient();
    client = temporal.client;
  });
  afterAll(async () => {
    for (const s of await listSchedules(client, { app: shop.app }).catch(() => []))
      await deleteSchedule(client, s.scheduleId).catch(() => undefined);
    await worker?.stop();
    await temporal?.close();
    rmSync(shop.root, { recursive: true, force: true });
  });

  it('applied twice gives one schedule each; the second apply changes nothing', async () => {
    const manifest = loadAppManifest(shop);
    const first = await applySchedules(client, manifest, { taskQueue });
    expect(first.map((c) => [c.name, c.change])).toEqual([
      ['nightly-db', 'created'],
      ['weekly-uploads', 'created'],
    ]);
    const before = await describeSchedule(client, scheduleId(shop.app, 'nightly-db'));

    const second = await applySchedules(client, manifest, { taskQueue });
    expect(second.map((c) => [c.name, c.change])).toEqual([
      ['nightly-db', 'unchanged'],
      ['weekly-uploads', 'unchanged'],
    ]);
    const after = await describeSchedule(client, scheduleId(shop.app, 'nightly-db'));
    expect(after.info.lastUpdatedAt).toEqual(before.info.lastUpdatedAt);

    await waitFor(
      async () => {
        const listed = await listSchedules(client, { app: shop.app });
        expect(listed.map((s) => s.name)).toEqual(['nightly-db', 'weekly-uploads']);
      },
      30_000,
      500,
    );

    expect(after.spec.timezone).toBe(SAO_PAULO);
    expect(after.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 86_400_000 });
    expect(after.state.paused).toBe(false);
    expect(after.action).toMatchObject({ workflowType: 'backup', taskQueue, args: [{ app: shop.app, target: 'db' }] });
    expect(after.typedSearchAttributes.get(defineSearchAttributeKey('App', SearchAttributeType.KEYWORD))).toBe(
      shop.app,
    );
    const weeklyDescription = await describeSchedule(client, scheduleId(shop.app, 'weekly-uploads'));
    expect(weeklyDescription.policies).toMatchObject({ overlap: 'BUFFER_ONE', catchupWindow: 7_200_000 });
    expect(weeklyDescription.state).toMatchObject({ paused: true, note: 'waiting for the new disk' });
  });

  it("updates a changed schedule in place, keeping a person's pause when the manifest did not change paused", async () => {
    await applySchedules(client, loadAppManifest(shop), { taskQueue });
    const id = scheduleId(shop.app, 'nightly-db');
    await pauseSchedule(client, id, 'paused by on-call during the migration');

    const changed = rewriteManifest(shop, (m) => {
      m.schedules = [{ ...nightly, cron: '15 1 * * *', catchupWindow: '6h' }, weekly];
    });
    const result = await applySchedules(client, changed, { taskQueue });
    expect(result.map((c) => [c.name, c.change])).toEqual([
      ['nightly-db', 'updated'],
      ['weekly-uploads', 'unchanged'],
    ]);
    const description = await describeSchedule(client, id);
    expect(description.policies.catchupWindow).toBe(6 * 3_600_000);
    expect(description.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 1, end: 1, step: 1 }],
      minute: [{ start: 15, end: 15, step: 1 }],
    });
    expect(description.state).toMatchObject({ paused: true, note: 'paused by on-call during the migration' });

    // The manifest itself pausing/unpausing does apply.
    const unpaused = rewriteManifest(shop, (m) => {
      m.schedules = [
        { ...nightly, cron: '15 1 * * *', catchupWindow: '6h' },
        { ...weekly, paused: false, note: undefined },
      ];
    });
    await applySchedules(client, unpaused, { taskQueue });
    expect((await describeSchedule(client, scheduleId(shop.app, 'weekly-uploads'))).state.paused).toBe(false);
    await unpauseSchedule(client, id, 'migration done');
    expect((await describeSchedule(client, id)).state).toMatchObject({ paused: false, note: 'migration done' });
  });

  it('keeps a schedule removed from the manifest unless asked to prune, then deletes it', async () => {
    const extra = { name: 'extra-db', cron: '0 5 * * *', timezone: SAO_PAULO, run: 'backup', target: 'db' };
    const withExtra = rewriteManifest(shop, (m) => {
      m.schedules = [...(m.schedules as unknown[]), extra];
    });
    await applySchedules(client, withExtra, { taskQueue });
    await waitFor(
      async () => {
        expect((await listSchedules(client, { app: shop.app })).map((s) => s.name)).toContain('extra-db');
      },
      30_000,
      500,
    );

    const without = rewriteManifest(shop, (m) => {
      m.schedules = (m.schedules as Array<{ name: string }>).filter((s) => s.name !== 'extra-db');
    });
    const kept = await applySchedules(client, without, { taskQueue });
    expect(kept.find((c) => c.name === 'extra-db')?.change).toMatch(/^kept/);
    await describeSchedule(client, scheduleId(shop.app, 'extra-db'));

    const pruned = await applySchedules(client, without, { taskQueue, prune: true });
    expect(pruned.find((c) => c.name === 'extra-db')?.change).toBe('deleted');
    await expect(describeSchedule(client, scheduleId(shop.app, 'extra-db'))).rejects.toThrow(/not found|deleted/i);
  });

  it('trigger runs a backup now', async () => {
    await applySchedules(client, loadAppManifest(shop), { taskQueue });
    const id = scheduleId(shop.app, 'nightly-db');
    const before = (await describeSchedule(client, id)).info.numActionsTaken;
    await triggerSchedule(client, id);
    let workflowId = '';
    await waitFor(
      async () => {
        const info = (await describeSchedule(client, id)).info;
        if (info.numActionsTaken <= before) throw new Error('not started yet');
        workflowId = info.recentActions[info.recentActions.length - 1].action.workflow.workflowId;
      },
      30_000,
      200,
    );
    const report = (await client.workflow.getHandle(workflowId).result()) as RunReport;
    expect(report.outcome).toBe('succeeded');
    expect(workflowId.startsWith(`backup-${shop.app}-db-`)).toBe(true);
    expect(readCatalogueFile(shop).entries.filter((e) => e.workflowId === workflowId)).toHaveLength(1);
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description.searchAttributes.App).toEqual([shop.app]);
  });

  it('pause stops it: a paused every-minute schedule lets its time pass without a run', async () => {
    const everyMinute = rewriteManifest(shop, (m) => {
      m.schedules = [
        ...(m.schedules as unknown[]),
        { name: 'every-minute', cron: '* * * * *', timezone: 'UTC', run: 'backup', target: 'uploads' },
      ];
    });
    await applySchedules(client, everyMinute, { taskQueue });
    const id = scheduleId(shop.app, 'every-minute');
    await pauseSchedule(client, id, 'stop for the test');
    const paused = await describeSchedule(client, id);
    expect(paused.state).toMatchObject({ paused: true, note: 'stop for the test' });
    const taken = paused.info.numActionsTaken;
    // Wait past the next minute boundary (as the server's clock sees it).
    const boundary = Math.ceil((Date.now() + 1) / 60_000) * 60_000;
    await new Promise((r) => setTimeout(r, boundary - Date.now() + 5_000));
    const later = await describeSchedule(client, id);
    expect(later.info.numActionsTaken).toBe(taken);
    expect(later.info.recentActions).toHaveLength(paused.info.recentActions.length);
    await deleteSchedule(client, id);
  });

  it('a three-day backfill runs three backups, each with its scheduled time as logical date', async () => {
    const manifest = rewriteManifest(shop, (m) => {
      m.schedules = [
        { name: 'backfill-db', cron: '0 1 * * *', timezone: SAO_PAULO, run: 'backup', target: 'db', paused: true },
      ];
    });
    await applySchedules(client, manifest, { taskQueue });
    const id = scheduleId(shop.app, 'backfill-db');
    // Whole days in the schedule's zone: 01:00 in São Paulo is 04:00 UTC. A paused schedule still backfills.
    const from = startOfDayInZone('2025-01-01', SAO_PAULO);
    const to = new Date(startOfDayInZone('2025-01-04', SAO_PAULO).getTime() - 1);
    await backfillSchedule(client, id, from, to);

    let workflowIds: string[] = [];
    await waitFor(
      async () => {
        const recent = (await describeSchedule(client, id)).info.recentActions.filter(
          (a) => a.scheduledAt.getUTCFullYear() === 2025 && a.scheduledAt.getUTCMonth() === 0,
        );
        if (recent.length < 3) throw new Error(`${recent.length} of 3 backfilled runs started`);
        workflowIds = recent.map((a) => a.action.workflow.workflowId);
      },
      120_000,
      500,
    );
    const reports = await Promise.all(
      workflowIds.map((w) => client.workflow.getHandle(w).result() as Promise<RunReport>),
    );
    expect(reports.map((r) => (r.details as { logicalDate: string }).logicalDate).sort()).toEqual([
      '2025-01-01T04:00:00.000Z',
      '2025-01-02T04:00:00.000Z',
      '2025-01-03T04:00:00.000Z',
    ]);
    const ids = readCatalogueFile(shop)
      .entries.filter((e) => workflowIds.includes(e.workflowId))
      .map((e) => e.id)
      .sort();
    expect(ids).toEqual(
      ['20250101T040000Z', '20250102T040000Z', '20250103T040000Z'].map((stamp) => `${shop.app}-db-${stamp}`),
    );
  });
});
