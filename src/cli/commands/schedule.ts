import os from 'node:os';
import { Command } from 'commander';
import { addDays, startOfDayInZone } from '../../common/dates';
import { dateOption, loadAppManifest } from '../manifests';
import { watchWorkflowId } from '../../common/names';
import { backfillLine, localSlot, outcomeWords } from '../../common/schedule-slots';
import type { ScheduleReview } from '../../client/schedule-outcomes';
import type { Manifest } from '../../manifest/types';
import type { Connected } from '../../client/connection';
import { UsageError } from '../../client/errors';
import type { Output } from '../output';
import type { ScheduleChange, ScheduleListing, WatcherStatus } from '../../client/schedules';

export function scheduleCommand(output: Output): Command {
  const schedule = new Command('schedule')
    .description("manage the Temporal Schedules of the apps' manifests (backups and jobs on a cron)")
    .addHelpText(
      'after',
      [
        '',
        'A schedule is named runbook-<app>-<name> (or <app>/<name> here).',
        '',
        'Examples:',
        '  $ runbook schedule apply orquetask',
        '  $ runbook schedule list',
        '  $ runbook schedule pause orquetask/nightly-backup --note "disk replacement tonight"',
        '  $ runbook schedule backfill orquetask/nightly-backup --from 2025-01-01 --to 2025-01-03',
      ].join('\n'),
    );

  schedule.addCommand(
    new Command('apply')
      .description('create or update one schedule per manifest schedule; unchanged ones are left alone')
      .argument('[app...]', 'apps to apply (default every manifest in RUNBOOK_MANIFESTS)')
      .option('--prune', "delete the app's schedules that its manifest no longer lists")
      .option('--task-queue <queue>', 'task queue the scheduled runs start on (default RUNBOOK_TASK_QUEUE or runbook)')
      .addHelpText('after', '\nExamples:\n  $ runbook schedule apply\n  $ runbook schedule apply financial-etl --prune')
      .action(async (apps: string[], options: { prune?: boolean; taskQueue?: string }) => {
        const manifests = await loadManifests(apps);
        const { applySchedules, ensureWatcher } = await import('../../client/schedules');
        await withClient(async ({ client, settings }) => {
          const taskQueue = options.taskQueue ?? settings.taskQueue;
          const changes: ScheduleChange[] = [];
          const watchers: WatcherStatus[] = [];
          for (const manifest of manifests) {
            changes.push(...(await applySchedules(client, manifest, { taskQueue, prune: options.prune })));
            const watcher = await ensureWatcher(client, manifest, taskQueue);
            if (watcher) watchers.push(watcher);
          }
          output.result({ taskQueue, changes, watchers }, () => [
            ...(changes.length === 0
              ? [`no schedules in ${manifests.map((m) => m.app).join(', ')}`]
              : changes.map(
                  (c) =>
                    `${c.change === 'unchanged' ? '=' : c.change === 'deleted' ? '-' : c.change === 'created' ? '+' : c.change === 'updated' ? '~' : '!'} ${c.scheduleId}: ${c.change}`,
                )),
            ...watchers.map(
              (w) =>
                `${w.started ? '+' : '='} ${w.workflowId}: ${w.started ? 'watching' : 'already watching'} for missed runs`,
            ),
          ]);
        });
      }),
  );

  schedule.addCommand(
    new Command('list')
      .description("list Runbook's schedules with their next and recent runs")
      .argument('[app]', 'only this app')
      .addHelpText('after', '\nExample:\n  $ runbook schedule list orquetask --json')
      .action(async (app: string | undefined) => {
        const { listSchedules } = await import('../../client/schedules');
        await withClient(async ({ client }) => {
          const schedules = await listSchedules(client, app ? { app } : {});
          output.result(schedules, () =>
            schedules.length === 0
              ? 'no schedules (apply some with `runbook schedule apply`)'
              : schedules.map(describeLine),
          );
        });
      }),
  );

  schedule.addCommand(
    new Command('status')
      .description(
        'what happened to each schedule lately: its last slots (ok, failed, missed and why), next run, paused, watcher',
      )
      .argument('[app]', 'only this app (default every manifest in RUNBOOK_MANIFESTS)')
      .option('--last <n>', 'how many recent slots of each schedule', '5')
      .addHelpText(
        'after',
        '\nExamples:\n  $ runbook schedule status financial-etl\n  $ runbook schedule status --last 14 --json',
      )
      .action(async (app: string | undefined, options: { last: string }) => {
        const last = Number(options.last);
        if (!Number.isInteger(last) || last < 1 || last > 100)
          throw new UsageError(`--last '${options.last}' is not a number from 1 to 100`, 'e.g. --last 7');
        const manifests = await loadManifests(app ? [app] : []);
        const { recentOutcomes } = await import('../../client/schedule-outcomes');
        await withClient(async ({ client }) => {
          const now = new Date();
          const apps: Array<{ app: string; watcher: WatcherState; schedules: ScheduleReview[] }> = [];
          for (const manifest of manifests) {
            const schedules: ScheduleReview[] = [];
            for (const s of manifest.schedules) schedules.push(await recentOutcomes(client, manifest, s, last, now));
            apps.push({ app: manifest.app, watcher: await watcherState(client, manifest.app), schedules });
          }
          output.result(apps, () => apps.flatMap((a) => statusLines(a.app, a.watcher, a.schedules)));
        });
      }),
  );

  schedule.addCommand(
    new Command('pause')
      .description('pause a schedule: no runs until unpaused (the note says why, in the Web UI too)')
      .argument('<schedule>', 'runbook-<app>-<name> or <app>/<name>')
      .option('--note <text>', 'why it is paused')
      .addHelpText(
        'after',
        '\nExample:\n  $ runbook schedule pause secretaria/daily-backup --note "restoring yesterday\'s dump"',
      )
      .action(async (ref: string, options: { note?: string }) => {
        const { parseScheduleRef, pauseSchedule } = await import('../../client/schedules');
        const id = parseScheduleRef(ref);
        const note = options.note ?? `paused by ${os.userInfo().username} with the runbook CLI`;
        await onSchedule(id, (client) => pauseSchedule(client, id, note));
        output.result({ scheduleId: id, paused: true, note }, () => `paused ${id}: ${note}`);
      }),
  );

  schedule.addCommand(
    new Command('unpause')
      .description('let a paused schedule run again')
      .argument('<schedule>', 'runbook-<app>-<name> or <app>/<name>')
      .option('--note <text>', 'why it runs again')
      .addHelpText(
        'after',
        '\nExample:\n  $ runbook schedule unpause secretaria/daily-backup --note "restore finished"',
      )
      .action(async (ref: string, options: { note?: string }) => {
        const { parseScheduleRef, unpauseSchedule } = await import('../../client/schedules');
        const id = parseScheduleRef(ref);
        const note = options.note ?? `unpaused by ${os.userInfo().username} with the runbook CLI`;
        await onSchedule(id, (client) => unpauseSchedule(client, id, note));
        output.result({ scheduleId: id, paused: false, note }, () => `unpaused ${id}: ${note}`);
      }),
  );

  schedule.addCommand(
    new Command('trigger')
      .description('start one run of a schedule now (its logical date is now)')
      .argument('<schedule>', 'runbook-<app>-<name> or <app>/<name>')
      .addHelpText('after', '\nExample:\n  $ runbook schedule trigger orquetask/nightly-backup')
      .action(async (ref: string) => {
        const { parseScheduleRef, triggerSchedule } = await import('../../client/schedules');
        const id = parseScheduleRef(ref);
        await onSchedule(id, (client) => triggerSchedule(client, id));
        output.result(
          { scheduleId: id, triggered: true },
          () => `triggered ${id}; follow it with \`runbook schedule list\` or in the Web UI`,
        );
      }),
  );

  schedule.addCommand(
    new Command('backfill')
      .description(
        "run every time a schedule would have run over whole days (in the schedule's time zone), one after the other",
      )
      .argument('<schedule>', 'runbook-<app>-<name> or <app>/<name>')
      .option('--from <date>', 'first day, YYYY-MM-DD')
      .option('--to <date>', 'last day, YYYY-MM-DD (included)')
      .option('--at <time>', 'only the slot due at this time, as a missed-run alert names it (2025-01-31T10:00:00Z)')
      .addHelpText(
        'after',
        '\nExamples:\n  $ runbook schedule backfill financial-etl/daily-processor --from 2025-01-01 --to 2025-01-03\n  $ runbook schedule backfill financial-etl/daily-processor --at 2025-01-31T10:00:00Z',
      )
      .action(async (ref: string, options: { from?: string; to?: string; at?: string }) => {
        const { parseScheduleRef, describeSchedule, backfillSchedule } = await import('../../client/schedules');
        const id = parseScheduleRef(ref);
        if (options.at !== undefined) {
          if (options.from !== undefined || options.to !== undefined)
            throw new UsageError('--at cannot be combined with --from/--to', 'give one slot with --at, or days');
          const at = checkInstant(options.at, '--at');
          await onSchedule(id, (client) => backfillSchedule(client, id, at, at));
          output.result(
            { scheduleId: id, at: at.toISOString() },
            () => `backfilling ${id} for its ${at.toISOString()} slot; follow it with \`runbook schedule status\``,
          );
          return;
        }
        if (options.from === undefined || options.to === undefined)
          throw new UsageError(
            'backfill needs --from and --to (days), or --at (one slot)',
            'e.g. --from 2025-01-01 --to 2025-01-03',
          );
        const from = dateOption(options.from, '--from');
        const to = dateOption(options.to, '--to');
        if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`, 'give the earlier day first');
        let range = { start: '', end: '', timezone: '' };
        await onSchedule(id, async (client) => {
          const timezone = (await describeSchedule(client, id)).spec.timezone ?? 'UTC';
          const start = startOfDayInZone(from, timezone);
          const end = new Date(startOfDayInZone(addDays(to, 1), timezone).getTime() - 1);
          await backfillSchedule(client, id, start, end);
          range = { start: start.toISOString(), end: end.toISOString(), timezone };
        });
        output.result(
          { scheduleId: id, from, to, ...range },
          () => `backfilling ${id} from ${from} to ${to} (${range.timezone}); runs start one after the other`,
        );
      }),
  );

  schedule.addCommand(
    new Command('delete')
      .description('delete a schedule (runs it started are kept); `apply` creates it again while the manifest lists it')
      .argument('<schedule>', 'runbook-<app>-<name> or <app>/<name>')
      .addHelpText('after', '\nExample:\n  $ runbook schedule delete orquetask/rotate-logs')
      .action(async (ref: string) => {
        const { parseScheduleRef, deleteSchedule } = await import('../../client/schedules');
        const id = parseScheduleRef(ref);
        await onSchedule(id, (client) => deleteSchedule(client, id));
        output.result({ scheduleId: id, deleted: true }, () => `deleted ${id}`);
      }),
  );
  return schedule;
}

interface WatcherState {
  workflowId: string;
  running: boolean;
  since?: string;
}

async function watcherState(client: Connected['client'], app: string): Promise<WatcherState> {
  const workflowId = watchWorkflowId(app);
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return {
      workflowId,
      running: description.status.name === 'RUNNING',
      since: description.startTime.toISOString(),
    };
  } catch (error) {
    const { WorkflowNotFoundError } = await import('@temporalio/client');
    if (error instanceof WorkflowNotFoundError) return { workflowId, running: false };
    throw error;
  }
}

function statusLines(app: string, watcher: WatcherState, schedules: ScheduleReview[]): string[] {
  const lines: string[] = [];
  for (const s of schedules) {
    if (!s.exists) {
      lines.push(`${app}/${s.name}  NOT APPLIED: create it with \`runbook schedule apply ${app}\``);
      continue;
    }
    const state = s.paused
      ? `PAUSED${s.note ? ` (${s.note})` : ''}`
      : `next ${s.nextRun ? localSlot(s.nextRun, s.timezone) : '-'}`;
    lines.push(`${app}/${s.name}  ${state}  deadline ${s.deadline} after each slot`);
    if (s.outcomes.length === 0) lines.push('  no slots yet');
    for (const o of [...s.outcomes].reverse()) {
      const when = localSlot(o.slot, s.timezone).replace(/ \(.*\)$/, '');
      const fix = o.status === 'failed' || o.status === 'missed' ? `  fix: ${backfillLine(app, s.name, o.slot)}` : '';
      lines.push(`  ${when}  ${outcomeWords(o).padEnd(36)}  ${o.detail.replace(/\s*\n\s*/g, ' ')}${fix}`);
    }
  }
  lines.push(
    watcher.running
      ? `${app}: missed-run alerts on (${watcher.workflowId}, since ${watcher.since})`
      : `${app}: NO missed-run alerts: start the watcher with \`runbook schedule apply ${app}\``,
  );
  return lines;
}

function describeLine(s: ScheduleListing): string {
  const when = `${s.cron ?? '?'} ${s.timezone ?? ''}`.trim();
  const state = s.paused ? `PAUSED${s.note ? ` (${s.note})` : ''}` : `next ${s.nextRuns[0] ?? '-'}`;
  const last = s.recentRuns.length > 0 ? `; last ${s.recentRuns[s.recentRuns.length - 1].scheduledAt}` : '';
  return `${s.scheduleId}  ${s.runs ?? ''}  ${when}  ${state}${last}`;
}

async function withClient<T>(fn: (connected: Connected) => Promise<T>): Promise<T> {
  const { connect } = await import('../../client/connection');
  const connected = await connect();
  try {
    return await fn(connected);
  } finally {
    await connected.close();
  }
}

/** Runs an operation on one schedule; a schedule that does not exist is bad input (exit 2). */
async function onSchedule(id: string, fn: (client: Connected['client']) => Promise<void>): Promise<void> {
  await withClient(async ({ client }) => {
    const { ScheduleNotFoundError } = await import('@temporalio/client');
    try {
      await fn(client);
    } catch (error) {
      if (error instanceof ScheduleNotFoundError || /not found/i.test((error as Error).message))
        throw new UsageError(
          `no schedule '${id}'`,
          'list them with `runbook schedule list`, or create them with `runbook schedule apply`',
        );
      throw error;
    }
  });
}

async function loadManifests(named: string[]): Promise<Manifest[]> {
  const { knownApps, manifestsDirFrom } = await import('../../manifest/lookup');
  const dir = manifestsDirFrom();
  const apps = named.length > 0 ? named : knownApps(dir);
  if (apps.length === 0)
    throw new UsageError(`no manifests in ${dir}`, 'put <app>.yaml files there or set RUNBOOK_MANIFESTS');
  return Promise.all(apps.map((app) => loadAppManifest(app, dir)));
}

function checkInstant(value: string, option: string): Date {
  const instant = new Date(value);
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ||
    Number.isNaN(instant.getTime())
  )
    throw new UsageError(
      `${option} '${value}' is not a time`,
      'write it as an ISO time with its zone, as alerts print it: 2025-01-31T10:00:00Z',
    );
  return instant;
}
