// Per-step cost and a whole deploy beside the same steps done by a bash script (bench/baseline/deploy.sh).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { median, elapsedMs, run, startProcess, treeCpuMs, workflowMs } = require('../lib');

const RUNS = 5;
const EXTRA = 20;

/** The CPU time `work` costs the worker's process tree (`workerPid`) and the Temporal server, and its result. */
async function withCpu(env, workerPid, work) {
  const before = { worker: treeCpuMs(workerPid), server: treeCpuMs(env.serverPid) };
  const result = await work();
  return {
    ...result,
    cpu: { worker: treeCpuMs(workerPid) - before.worker, server: treeCpuMs(env.serverPid) - before.server },
  };
}

/**
 * Deploys `app` once through Temporal; returns the workflow's own time, where each step's time went and the CPU
 * time the deploy cost the worker (with its forker and the commands) and the server.
 */
function deployOnce(env, app, version) {
  return withCpu(env, env.workerPid, () => deployAndRead(env, app, version));
}

async function deployAndRead(env, app, version) {
  app.stage(version);
  const { ms, events } = await runAndRead(env, 'deploy', {
    taskQueue: env.taskQueue,
    workflowId: `deploy-${app.name}`,
    args: [{ app: app.name, ref: version }],
  });
  return { ms, steps: stepTimes(events), parts: timeByPart(events) };
}

/** Runs a workflow to its end; returns its own time (the server's start to close) and its history's events. */
async function runAndRead(env, workflowType, options) {
  const handle = await env.client.workflow.start(workflowType, options);
  await handle.result();
  const runId = handle.firstExecutionRunId;
  const { events } = await env.client.workflow.getHandle(options.workflowId, runId).fetchHistory();
  return { ms: await workflowMs(env.client, options.workflowId, runId), events };
}

const eventMs = (e) => Number(e.eventTime.seconds) * 1000 + Math.floor(e.eventTime.nanos / 1e6);

/**
 * Where a deploy's time went, from its history: each activity type's time from scheduled to completed (summed
 * when it ran more than once; activities that overlap, like the live health checks, each count in full), and
 * the rest — workflow tasks and the waits between them.
 */
function timeByPart(events) {
  const { EventType } = require('@temporalio/proto').temporal.api.enums.v1;
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const parts = {};
  for (const e of events) {
    if (e.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) continue;
    const scheduled = byId.get(Number(e.activityTaskCompletedEventAttributes.scheduledEventId));
    const name = scheduled.activityTaskScheduledEventAttributes.activityType.name;
    parts[name] = (parts[name] ?? 0) + eventMs(e) - eventMs(scheduled);
  }
  let workflowTasks = 0;
  for (const e of events) {
    if (e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) continue;
    const scheduled = byId.get(Number(e.workflowTaskCompletedEventAttributes.scheduledEventId));
    workflowTasks += eventMs(e) - eventMs(scheduled);
  }
  parts['workflow tasks (scheduled → completed)'] = workflowTasks;
  return parts;
}

/**
 * Each `activityType` activity's time from its history: the workflow's turn (the previous activity's completion to this
 * one's schedule: a workflow task dispatched, run and completed), the dispatch (schedule to a worker's start) and
 * the activity itself (start to completion, as the server saw it).
 */
function stepTimes(events, activityType = 'runStep') {
  const { EventType } = require('@temporalio/proto').temporal.api.enums.v1;
  const byId = new Map(events.map((e) => [Number(e.eventId), e]));
  const steps = [];
  let previousClose;
  for (const e of events) {
    if (e.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) continue;
    const { scheduledEventId, startedEventId } = e.activityTaskCompletedEventAttributes;
    const scheduled = byId.get(Number(scheduledEventId));
    const started = byId.get(Number(startedEventId));
    if (scheduled.activityTaskScheduledEventAttributes.activityType.name === activityType && previousClose)
      steps.push({
        turn: eventMs(scheduled) - eventMs(previousClose),
        dispatch: eventMs(started) - eventMs(scheduled),
        activity: eventMs(e) - eventMs(started),
      });
    previousClose = e;
  }
  return steps;
}

/**
 * The floor under a step: a bare workflow (bench/baseline/floor) running empty activities on a host queue, in
 * its own worker process on the same server. Returns a function that times one run with `steps` activities.
 */
async function startFloor(env) {
  const taskQueue = 'bench-floor';
  const hostQueue = 'bench-floor-host';
  const worker = await startProcess(
    [process.execPath, path.join(__dirname, '..', 'baseline', 'floor', 'worker.js'), env.address, taskQueue, hostQueue],
    { ready: 'ready' },
  );
  let runs = 0;
  return {
    /** The run's workflow time, each empty activity's turn, dispatch and time, and CPU, as deployOnce gives them. */
    time(steps) {
      return withCpu(env, worker.pid, () => timeOnce(steps));
    },
    stop: worker.stop,
  };

  async function timeOnce(steps) {
    const { ms, events } = await runAndRead(env, 'bareSteps', {
      taskQueue,
      workflowId: `bench-floor-${process.pid}-${++runs}`,
      args: [{ steps, hostQueue }],
    });
    return { ms, steps: stepTimes(events, 'noop') };
  }
}

/** The same deploy by the bash script, into its own root. */
async function bashOnce(app, root, version, steps) {
  app.stage(version);
  const script = path.join(__dirname, '..', 'baseline', 'deploy.sh');
  return (
    await elapsedMs(async () => run(['bash', script, root, app.staging, String(app.port), version, String(steps)]))
  ).ms;
}

function stopBashApp(root) {
  try {
    process.kill(-Number(fs.readFileSync(path.join(root, '.run', 'web.pid'), 'utf8')), 'SIGKILL');
  } catch {
    // never started
  }
}

module.exports = {
  name: 'deploy',
  needsTemporal: true,
  async apps(workspace) {
    return {
      zero: await workspace.addApp('steps-0'),
      twenty: await workspace.addApp(`steps-${EXTRA}`, { extraSteps: EXTRA }),
      // Its extra steps are `once: true`: after the first deploy ran them, each is still a runStep activity of
      // every deploy, which finds it done and runs no command — Runbook's step without the command.
      ranOnce: await workspace.addApp(`steps-${EXTRA}-once`, { extraSteps: EXTRA, once: true }),
    };
  },
  async run(env, results) {
    const { zero, twenty, ranOnce } = env.apps;
    const times = {
      ...{ zero: [], twenty: [], bash: [], bashZero: [], steps: [], parts: [], ranOnce: [], ranOnceSteps: [] },
      ...{ floorZero: [], floor: [], floorSteps: [] },
      ...{ cpuZero: [], cpuTwenty: [], cpuRanOnce: [], floorCpuZero: [], floorCpu: [] },
    };
    const bashRoot = path.join(env.workspace.dir, 'bash', twenty.name);
    const bashZeroRoot = path.join(env.workspace.dir, 'bash', zero.name);
    const floor = await startFloor(env);
    try {
      await floor.time(EXTRA);
      // The first deploy of each starts from nothing; the measured ones replace a running release.
      await deployOnce(env, zero, 'v0');
      await deployOnce(env, twenty, 'v0');
      await deployOnce(env, ranOnce, 'v0');
      await bashOnce(twenty, bashRoot, 'v0', EXTRA);
      await bashOnce(zero, bashZeroRoot, 'v0', 0);
      for (let i = 1; i <= RUNS; i++) {
        const bare = await deployOnce(env, zero, `v${i}`);
        times.zero.push(bare.ms);
        times.parts.push(bare.parts);
        times.cpuZero.push(bare.cpu);
        times.bashZero.push(await bashOnce(zero, bashZeroRoot, `b${i}`, 0));
        const deploy = await deployOnce(env, twenty, `v${i}`);
        times.twenty.push(deploy.ms);
        times.steps.push(...deploy.steps);
        times.cpuTwenty.push(deploy.cpu);
        const skipped = await deployOnce(env, ranOnce, `v${i}`);
        times.ranOnce.push(skipped.ms);
        times.cpuRanOnce.push(skipped.cpu);
        times.ranOnceSteps.push(...skipped.steps);
        times.bash.push(await bashOnce(twenty, bashRoot, `b${i}`, EXTRA));
        const floorZero = await floor.time(0);
        times.floorZero.push(floorZero.ms);
        times.floorCpuZero.push(floorZero.cpu);
        const floorRun = await floor.time(EXTRA);
        times.floor.push(floorRun.ms);
        times.floorCpu.push(floorRun.cpu);
        times.floorSteps.push(...floorRun.steps);
      }
    } finally {
      await floor.stop();
      stopBashApp(bashRoot);
      stopBashApp(bashZeroRoot);
    }
    const perStep = (median(times.twenty) - median(times.zero)) / EXTRA;
    const floorPerStep = (median(times.floor) - median(times.floorZero)) / EXTRA;
    results.add({
      figure: `workflow time per extra no-op step (${EXTRA} vs 0, median of ${RUNS})`,
      value: perStep,
      unit: 'ms',
      goal: '≤ 15 ms',
    });
    results.add({
      figure: `the same, beside Runbook's step that runs no command (once: true, ran before)`,
      value: perStep,
      unit: 'ms',
      baseline: (median(times.ranOnce) - median(times.zero)) / EXTRA,
      baselineLabel: 'step without its command',
    });
    results.add({
      figure: `the same, beside a bare workflow's extra empty activity (${EXTRA} vs 0, same server and SDK)`,
      value: perStep,
      unit: 'ms',
      baseline: floorPerStep,
      baselineLabel: 'bare Temporal',
    });
    const cpuPerStep = (twenty, zero, side) =>
      (median(twenty.map((c) => c[side])) - median(zero.map((c) => c[side]))) / EXTRA;
    for (const [side, what] of [
      ['worker', "the worker's CPU (its forker and commands included)"],
      ['server', "the Temporal server's CPU"],
    ]) {
      const value = cpuPerStep(times.cpuTwenty, times.cpuZero, side);
      results.add({
        figure: `per extra no-op step, ${what} (median of ${RUNS})`,
        value,
        unit: 'ms',
        baseline: cpuPerStep(times.floorCpu, times.floorCpuZero, side),
        baselineLabel: 'bare Temporal',
      });
      results.add({
        figure: `per extra no-op step, ${what}, beside the step without its command`,
        value,
        unit: 'ms',
        baseline: cpuPerStep(times.cpuRanOnce, times.cpuZero, side),
        baselineLabel: 'once: true, ran before',
      });
    }
    results.add({
      figure: `deploy with ${EXTRA} extra steps: workflow time`,
      value: median(times.twenty),
      unit: 'ms',
      baseline: median(times.bash),
      baselineLabel: 'bash script',
      goal: '≤ 1.1×',
    });
    results.add({
      figure: 'deploy with no extra steps: workflow time',
      value: median(times.zero),
      unit: 'ms',
      baseline: median(times.bashZero),
      baselineLabel: 'bash script',
    });
    for (const part of Object.keys(times.parts[0]))
      results.add({
        figure: `deploy with no extra steps, time in ${part} (median of ${RUNS})`,
        value: median(times.parts.map((p) => p[part] ?? 0)),
        unit: 'ms',
      });
    for (const [part, what] of [
      ['turn', 'previous completion → scheduled (workflow task)'],
      ['dispatch', 'scheduled → started (activity poll)'],
      ['activity', 'started → completed (the activity itself)'],
    ]) {
      results.add({
        figure: `a step's ${what}, median of ${times.steps.length}`,
        value: median(times.steps.map((s) => s[part])),
        unit: 'ms',
        baseline: median(times.floorSteps.map((s) => s[part])),
        baselineLabel: 'bare Temporal',
      });
      results.add({
        figure: `a step's ${what}, beside the step without its command`,
        value: median(times.steps.map((s) => s[part])),
        unit: 'ms',
        baseline: median(times.ranOnceSteps.map((s) => s[part])),
        baselineLabel: 'once: true, ran before',
      });
    }
  },
};
