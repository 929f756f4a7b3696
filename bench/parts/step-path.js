// Where a no-op step's activity time goes, piece by piece, in this process (no Temporal): the process chain
// runCommand spawns (sh joining the cgroup, setpriv, the command), the attempt claim (and the flock it
// replaced), the done-marker (fsync), runCommand, the runStep activity, and runStep under the worker's attempt interceptor. Rounds are
// interleaved (each round runs every piece once) so the machine's load hits all pieces alike; CPU time counts
// this process and the children it waited for. `deploy` gives the same step's time as the history records it.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawn, spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { ROOT, cpuMs, dist, median } = require('../lib');

const ROUNDS = 40;

function exits(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.once('error', reject);
    child.once('close', resolve);
  });
}

function pieces(dir) {
  const { withParentDeathSignal } = dist('activities/containment/parent-death.js');
  const { joinCgroupArgv, runbookCgroupRoot } = dist('activities/containment/cgroups.js');
  const { writeFileAtomic } = dist('activities/atomic-write.js');
  const { claimExclusive, claimName } = dist('activities/attempt.js');
  const { runCommand } = dist('activities/shell.js');
  const { createActivities, activityConfigFromEnv } = dist('activities/index.js');
  const { attemptInterceptors } = dist('workers/attempts.js');
  const { manifestSchema } = dist('manifest/schema.js');
  const { MockActivityEnvironment } = require(path.join(ROOT, 'node_modules', '@temporalio', 'testing'));
  const manifest = manifestSchema.parse({
    app: 'step-path',
    host: 'bench-host',
    root: path.join(dir, 'srv'),
    source: { type: 'copy', from: dir },
    steps: { install: [{ name: 'no-op', run: ['true'] }] },
  });
  const activities = createActivities({ ...activityConfigFromEnv(), manifestsDir: dir });
  const request = (deployId) => ({ manifest, phase: 'install', index: 0, deployId, dir, values: {}, extraEnv: {} });
  const plain = new MockActivityEnvironment();
  const intercepted = new MockActivityEnvironment(
    { activityId: 'step' },
    { interceptors: [attemptInterceptors(path.join(dir, 'attempt-locks'))] },
  );
  const cgroupRoot = runbookCgroupRoot();
  return {
    'spawn `true`': () => exits(['true']),
    'spawn `setpriv --pdeathsig KILL -- true`': () => exits(withParentDeathSignal(['true'])),
    ...(cgroupRoot
      ? {
          'spawn `sh` joining a cgroup, then setpriv, then `true`': () =>
            exits(withParentDeathSignal(joinCgroupArgv(path.join(cgroupRoot, 'bench-step-path'), ['true']))),
        }
      : {}),
    'file lock (before: the attempt claim): flock claim and release': async (i) =>
      (await claimExclusive(path.join(dir, 'locks', `${i}.lock`), 'bench')).release(),
    'attempt claim: claimName (abstract socket) and release': async (i) =>
      (await claimName(`runbook-bench-step-path-${process.pid}-${i}`, 'bench')).release(),
    'done-marker: writeFileAtomic (fsync file and folder)': (i) =>
      writeFileAtomic(path.join(dir, 'markers', String(i), 'install-0.done'), '{"exitCode":0}'),
    'runCommand(`true`) with a lease': (i) =>
      plain.run(() => runCommand({ argv: ['true'], cwd: dir, lease: `step-path/${i}` })),
    'runStep activity': (i) => plain.run(() => activities.runStep(request(`plain-${i}`))),
    'runStep under the attempt interceptor (as a worker runs it)': (i) =>
      intercepted.run(activities.runStep, request(`intercepted-${i}`)),
  };
}

/**
 * How long `spawn()` blocks its caller's event loop (Node forks the caller: the time grows with its resident
 * size), in a fresh Node process holding `extraMB` more of memory: the worker forks itself for every spare
 * shell, and a worker is a few hundred MB.
 */
function spawnBlocking(extraMB) {
  const script = `
    const { spawn } = require('node:child_process');
    const { performance } = require('node:perf_hooks');
    const held = Array.from({ length: ${extraMB} }, () => Buffer.alloc(2 ** 20, 1));
    (async () => {
      const times = [];
      for (let i = 0; i < ${ROUNDS}; i++) {
        const started = performance.now();
        const child = spawn('true', [], { stdio: 'pipe', detached: true });
        times.push(performance.now() - started);
        await new Promise((resolve) => child.once('exit', resolve));
      }
      times.sort((a, b) => a - b);
      console.log(JSON.stringify({ ms: times[times.length >> 1], rssMB: process.memoryUsage.rss() >> 20, held: held.length }));
    })();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`spawn-blocking probe failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

module.exports = {
  name: 'step-path',
  needsTemporal: false,
  async run(env, results) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-bench-step-path-'));
    const stateDir = process.env.RUNBOOK_STATE_DIR;
    process.env.RUNBOOK_STATE_DIR = path.join(dir, 'state');
    try {
      const cases = Object.entries(pieces(dir));
      const wall = new Map(cases.map(([name]) => [name, []]));
      const cpu = new Map(cases.map(([name]) => [name, 0]));
      for (let round = -1; round < ROUNDS; round++) {
        for (const [name, piece] of cases) {
          const started = performance.now();
          const cpuBefore = cpuMs(process.pid);
          await piece(round);
          if (round < 0) continue; // warm-up
          wall.get(name).push(performance.now() - started);
          cpu.set(name, cpu.get(name) + cpuMs(process.pid) - cpuBefore);
        }
      }
      for (const [name] of cases) {
        results.add({
          figure: `step path: ${name}, wall median of ${ROUNDS}`,
          value: median(wall.get(name)),
          unit: 'ms',
        });
        results.add({ figure: `step path: ${name}, CPU per run`, value: cpu.get(name) / ROUNDS, unit: 'ms' });
      }
      for (const extraMB of [0, 300]) {
        const probe = spawnBlocking(extraMB);
        results.add({
          figure: `step path: spawn() blocks a ${probe.rssMB} MB Node process (median of ${ROUNDS})`,
          value: probe.ms,
          unit: 'ms',
        });
      }
    } finally {
      if (stateDir === undefined) delete process.env.RUNBOOK_STATE_DIR;
      else process.env.RUNBOOK_STATE_DIR = stateDir;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
