// What every benchmark part shares: timing, the result table, a Temporal dev server and worker processes.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawn, spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { setInterval, clearInterval } = require('node:timers');

const ROOT = path.resolve(__dirname, '..');
const dist = (p) => require(path.join(ROOT, 'dist', p));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function elapsedMs(fn) {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/**
 * Median wall time of each of fns over `runs` rounds, after one warm-up round. A round runs each fn once, so a
 * swing of the machine's load touches every figure alike.
 */
async function mediansMs(runs, fns) {
  for (const fn of fns) await fn();
  const times = fns.map(() => []);
  for (let i = 0; i < runs; i++) for (const [j, fn] of fns.entries()) times[j].push((await elapsedMs(fn)).ms);
  return times.map(median);
}

/** Runs a program to the end; throws with its output when it fails. */
function run(argv, options = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0)
    throw new Error(`${argv.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

function loadAverage() {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

/**
 * The table `npm run bench` prints and writes: each figure beside its baseline from the same run (or beside
 * its goal when there is no program to compare with), the ratio, and the goal.
 */
class Results {
  constructor() {
    this.rows = [];
    this.notes = [];
  }

  /** A line printed under the table and kept in the JSON (the settings a figure was measured with). */
  note(text) {
    this.notes.push(text);
  }

  /** value and baseline in `unit`; goal is a ratio (`≤ 1.1×`) when there is a baseline, else an absolute bound. */
  add(row) {
    const ratio = row.baseline ? row.value / row.baseline : undefined;
    const full = { ...row, ...(ratio !== undefined ? { ratio: Math.round(ratio * 100) / 100 } : {}) };
    this.rows.push(full);
    console.log(`  ${formatRow(full)}`);
  }

  print() {
    const header = ['figure', 'runbook', 'baseline', 'ratio', 'goal'];
    const lines = this.rows.map((r) => [
      r.figure,
      formatValue(r.value, r.unit),
      r.baseline !== undefined ? `${formatValue(r.baseline, r.unit)} (${r.baselineLabel})` : '',
      r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '',
      r.goal ?? '',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    console.log(['', fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n'));
    for (const note of this.notes) console.log(note);
  }

  write(parts, startedAt, loadBefore) {
    const dir = path.join(ROOT, '.artifacts', 'bench');
    fs.mkdirSync(dir, { recursive: true });
    const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    const document = {
      startedAt,
      finishedAt: new Date().toISOString(),
      commit,
      parts,
      machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      loadAverage: { before: loadBefore, after: loadAverage() },
      rows: this.rows,
      notes: this.notes,
    };
    const file = path.join(dir, `${startedAt.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    fs.copyFileSync(file, path.join(dir, 'latest.json'));
    return file;
  }
}

function formatValue(value, unit) {
  if (value === undefined || value === null) return '-';
  if (unit === 'ms')
    return value >= 10_000
      ? `${(value / 1000).toFixed(1)} s`
      : value < 10
        ? `${value.toFixed(2)} ms`
        : `${Math.round(value)} ms`;
  if (unit === 's') return `${value.toFixed(2)} s`;
  return `${Math.round(value * 100) / 100}${unit ? ` ${unit}` : ''}`;
}

function formatRow(r) {
  const base = r.baseline !== undefined ? `  vs ${formatValue(r.baseline, r.unit)} ${r.baselineLabel}` : '';
  const ratio = r.ratio !== undefined ? `  = ${r.ratio.toFixed(2)}×` : '';
  return `${r.figure}: ${formatValue(r.value, r.unit)}${base}${ratio}${r.goal ? `  (goal ${r.goal})` : ''}`;
}

/** A Temporal dev server for the run, started once by the first part that needs it. */
let temporal;
async function startTemporal() {
  if (temporal) return temporal;
  const { Runtime, DefaultLogger } = require('@temporalio/worker');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { startDevServer } = dist('devserver/dev-server.js');
  // RUNBOOK_BENCH_TEMPORAL_DEFAULTS=1: the dev server with Temporal's own settings, to compare with Runbook's.
  const server = await startDevServer(process.env.RUNBOOK_BENCH_TEMPORAL_DEFAULTS === '1' ? { dynamicConfig: {} } : {});
  const serverPid = pidWith('start-dev', '--port', server.address.split(':').pop());
  temporal = { server, client: server.env.client, address: server.address, serverPid };
  return temporal;
}

async function stopTemporal() {
  if (temporal) await temporal.server.stop();
  temporal = undefined;
}

/**
 * A long-running program started for the bench; resolves once its output shows `ready`. stop() ends it with
 * SIGTERM and waits for its exit.
 */
async function startProcess(argv, { env = process.env, ready }) {
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  await new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (output.includes(ready)) {
        clearInterval(poll);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(poll);
        reject(new Error(`${path.basename(argv[1] ?? argv[0])} exited ${child.exitCode}:\n${output}`));
      }
    }, 50);
  });
  return {
    pid: child.pid,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    },
  };
}

/** A real worker process (dist/workers/main.js), as production runs it; resolves once it polls. */
async function startWorker({ address, taskQueue, hosts, manifestsDir, env = {} }) {
  const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-bench-locks-'));
  const worker = await startProcess([process.execPath, path.join(ROOT, 'dist', 'workers', 'main.js')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      RUNBOOK_TASK_QUEUE: taskQueue,
      RUNBOOK_HOSTS: hosts.join(','),
      RUNBOOK_MANIFESTS: manifestsDir,
      RUNBOOK_LOCK_DIR: lockDir,
      ...env,
    },
    ready: 'task queues',
  });
  return {
    pid: worker.pid,
    output: worker.output,
    async stop() {
      await worker.stop();
      fs.rmSync(lockDir, { recursive: true, force: true });
    },
  };
}

const TICK_MS = 1000 / 100; // USER_HZ

/** /proc/<pid>/stat's fields after the command name, or undefined once the process is gone. */
function statFields(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, ms) a process and the children it has reaped have used so far; 0 once it is gone. */
function cpuMs(pid) {
  const fields = statFields(pid);
  return fields ? fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks) * TICK_MS, 0) : 0;
}

/**
 * CPU time (user + system, ms) that a process and every process below it have used so far: its own, its
 * reaped children's, and that of its live descendants (a worker's forker and what the forker started).
 */
function treeCpuMs(pid) {
  const parentOf = new Map();
  for (const entry of fs.readdirSync('/proc'))
    if (/^\d+$/.test(entry)) parentOf.set(Number(entry), Number(statFields(entry)?.[1]));
  const inTree = (p) => {
    for (let at = p; at > 1; at = parentOf.get(at)) if (at === pid) return true;
    return false;
  };
  let ms = 0;
  for (const p of parentOf.keys()) if (inTree(p)) ms += cpuMs(p);
  return ms;
}

/** The pid of the process whose command line holds every one of `words` (the dev server by its port). */
function pidWith(...words) {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (words.every((w) => args.includes(w))) return Number(entry);
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}

/** A workflow's own time, from the server's start and close times. */
async function workflowMs(client, workflowId, runId) {
  const description = await client.workflow.getHandle(workflowId, runId).describe();
  return description.closeTime.getTime() - description.startTime.getTime();
}

module.exports = {
  ROOT,
  dist,
  median,
  percentile,
  elapsedMs,
  mediansMs,
  run,
  loadAverage,
  Results,
  startTemporal,
  stopTemporal,
  startProcess,
  startWorker,
  cpuMs,
  treeCpuMs,
  workflowMs,
};
