// Scale: one worker process runs N concurrent deploys of trivial apps, then M concurrent job dates, against the
// dev server. Reports how long runs wait for their first activity and to finish (percentiles), throughput, and
// the task timeouts their histories record, beside the worker's settings and the machine's load average.
// `npm run bench -- scale --deploys 20 --jobs 50` is a quick look; the worker reads RUNBOOK_MAX_CONCURRENT_*,
// RUNBOOK_MAX_CACHED_WORKFLOWS and RUNBOOK_STICKY_QUEUE_TIMEOUT from the bench's environment.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { stringify } = require('yaml');
const { percentile, loadAverage, startWorker } = require('../lib');

const DEFAULTS = { deploys: 200, jobs: 500 };
const HOST = 'scale-host';
const TASK_QUEUE = 'bench-scale';
/** Starts in flight at once: enough to start hundreds in a few seconds without queueing in the client. */
const START_CONCURRENCY = 50;

/** Runs fn over items with at most `limit` at once; results in item order. */
async function mapLimited(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function count(flags, name) {
  const value = flags[name] ?? DEFAULTS[name];
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} ${value}: expected a whole number`);
  return n;
}

/** N trivial apps (a one-file release, one no-op step, no service) and one app with a no-op job. */
function writeApps(workspace, deploys) {
  const source = path.join(workspace.dir, 'scale-source');
  fs.mkdirSync(source, { recursive: true });
  fs.writeFileSync(path.join(source, 'index.html'), 'ok\n');
  const app = (name, extra) => {
    const manifest = { app: name, host: HOST, root: path.join(workspace.dir, 'srv', name), ...extra };
    fs.writeFileSync(path.join(workspace.manifestsDir, `${name}.yaml`), stringify(manifest));
    return name;
  };
  const deployApps = Array.from({ length: deploys }, (_, i) =>
    app(`scale-${String(i + 1).padStart(3, '0')}`, {
      source: { type: 'copy', from: source },
      steps: { install: [{ name: 'no-op', run: ['true'] }] },
    }),
  );
  const jobApp = app('scale-jobs', {
    source: { type: 'copy', from: source },
    jobs: [{ name: 'tick', run: ['true'], cwd: workspace.dir, retries: 0 }],
  });
  return { deployApps, jobApp };
}

function countBy(values) {
  const counts = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function eventMs(event) {
  return Number(event.eventTime.seconds) * 1000 + Math.floor(event.eventTime.nanos / 1e6);
}

/** What a run's history says: start, first activity start, close, and the task timeouts it recorded. */
async function readHistory(client, workflowId, runId) {
  const { EventType, TimeoutType } = require('@temporalio/proto').temporal.api.enums.v1;
  const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const firstActivity = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
  const of = (type) => events.filter((e) => e.eventType === type).length;
  // A sticky task nobody took within the sticky timeout times out schedule-to-start and goes to the shared
  // queue; one a worker took but did not finish in time (a starved worker) times out start-to-close.
  const workflowTaskTimeoutsOf = (timeoutType) =>
    events.filter(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT &&
        e.workflowTaskTimedOutEventAttributes.timeoutType === timeoutType,
    ).length;
  return {
    startMs: eventMs(events[0]),
    firstActivityMs: firstActivity ? eventMs(firstActivity) : undefined,
    closeMs: eventMs(events[events.length - 1]),
    workflowTaskTimeouts: of(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT),
    stickyTimeouts: workflowTaskTimeoutsOf(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START),
    startToCloseTimeouts: workflowTaskTimeoutsOf(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE),
    activityTaskTimeouts: of(EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT),
    activityTimeoutsByType: events
      .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
      .map((e) => {
        const scheduled = events.find(
          (s) => Number(s.eventId) === Number(e.activityTaskTimedOutEventAttributes.scheduledEventId),
        );
        const type = e.activityTaskTimedOutEventAttributes.failure?.timeoutFailureInfo?.timeoutType;
        return `${scheduled?.activityTaskScheduledEventAttributes.activityType.name} ${TimeoutType[type] ?? type}`;
      }),
    workflowTaskFailures: of(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED),
  };
}

/** Starts every run as fast as the client can, waits for all, then reads their histories. */
async function runBatch(env, label, starts) {
  const load = loadAverage();
  console.log(`  ${label}: starting ${starts.length} runs; load average ${load.join(' ')}`);
  const handles = await mapLimited(starts, START_CONCURRENCY, ({ type, workflowId, input }) =>
    env.client.workflow.start(type, { taskQueue: TASK_QUEUE, workflowId, args: [input] }),
  );
  const outcomes = await Promise.all(
    handles.map((h) =>
      h.result().then(
        () => 'ok',
        (error) => `${h.workflowId}: ${error.cause?.message ?? error.message}`,
      ),
    ),
  );
  const failed = outcomes.filter((o) => o !== 'ok');
  const loadAfter = loadAverage();
  const histories = await mapLimited(handles, 20, (h) => readHistory(env.client, h.workflowId, h.firstExecutionRunId));
  const toFirst = histories.filter((h) => h.firstActivityMs !== undefined).map((h) => h.firstActivityMs - h.startMs);
  const toClose = histories.map((h) => h.closeMs - h.startMs);
  const span = Math.max(...histories.map((h) => h.closeMs)) - Math.min(...histories.map((h) => h.startMs));
  const sum = (key) => histories.reduce((total, h) => total + h[key], 0);
  return {
    label,
    runs: starts.length,
    failed,
    toFirst,
    toClose,
    throughput: starts.length / (span / 1000),
    workflowTaskTimeouts: sum('workflowTaskTimeouts'),
    stickyTimeouts: sum('stickyTimeouts'),
    startToCloseTimeouts: sum('startToCloseTimeouts'),
    activityTaskTimeouts: sum('activityTaskTimeouts'),
    activityTimeoutsByType: countBy(histories.flatMap((h) => h.activityTimeoutsByType)),
    workflowTaskFailures: sum('workflowTaskFailures'),
    load: { before: load, after: loadAfter },
  };
}

function report(results, batch, settings) {
  const extra = { settings, loadAverage: batch.load };
  const { label } = batch;
  for (const [what, values] of [
    ['start → first activity', batch.toFirst],
    ['start → completion', batch.toClose],
  ]) {
    for (const p of [50, 95, 99])
      results.add({ figure: `${label}: ${what} p${p}`, value: percentile(values, p), unit: 'ms', ...extra });
  }
  results.add({ figure: `${label}: throughput`, value: batch.throughput, unit: 'runs/s', ...extra });
  results.add({
    figure: `${label}: workflow task timeouts (sticky schedule-to-start ${batch.stickyTimeouts}, start-to-close ${batch.startToCloseTimeouts})`,
    value: batch.workflowTaskTimeouts,
    unit: '',
    goal: '0',
    ...extra,
  });
  results.add({
    figure: `${label}: activity task timeouts${
      Object.keys(batch.activityTimeoutsByType).length
        ? ` (${Object.entries(batch.activityTimeoutsByType)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')})`
        : ''
    }`,
    value: batch.activityTaskTimeouts,
    unit: '',
    goal: '0',
    ...extra,
  });
  results.add({ figure: `${label}: workflow task failures`, value: batch.workflowTaskFailures, unit: '', ...extra });
  results.add({ figure: `${label}: failed runs`, value: batch.failed.length, unit: '', goal: '0', ...extra });
  for (const failure of batch.failed.slice(0, 5)) console.log(`    failed: ${failure}`);
  console.log(
    `  ${label}: load average before ${batch.load.before.join(' ')}, after ${batch.load.after.join(' ')}; ${settings}`,
  );
}

module.exports = {
  name: 'scale',
  needsTemporal: true,
  ownWorker: true,
  flags: ['deploys', 'jobs'],
  async run(env, results) {
    const deploys = count(env.flags, 'deploys');
    const jobs = count(env.flags, 'jobs');
    const { deployApps, jobApp } = writeApps(env.workspace, deploys);
    const worker = await startWorker({
      address: env.address,
      taskQueue: TASK_QUEUE,
      hosts: [HOST],
      manifestsDir: env.workspace.manifestsDir,
    });
    try {
      const settings = /tuning: (.*)/.exec(worker.output())?.[1]?.trim() ?? 'worker settings not printed';
      console.log(`  worker: ${settings}`);
      results.note(`scale worker settings: ${settings}`);
      if (deploys > 0) {
        const batch = await runBatch(
          env,
          `scale: ${deploys} concurrent deploys`,
          deployApps.map((app) => ({ type: 'deploy', workflowId: `deploy-${app}`, input: { app, ref: 'v1' } })),
        );
        report(results, batch, settings);
      }
      if (jobs > 0) {
        const day0 = Date.UTC(2020, 0, 1);
        const dates = Array.from({ length: jobs }, (_, i) =>
          new Date(day0 + i * 86_400_000).toISOString().slice(0, 10),
        );
        const batch = await runBatch(
          env,
          `scale: ${jobs} concurrent job dates`,
          dates.map((date) => ({
            type: 'job',
            workflowId: `job-${jobApp}-tick-${date}`,
            input: { app: jobApp, job: 'tick', date },
          })),
        );
        report(results, batch, settings);
      }
    } finally {
      await worker.stop();
    }
  },
};
