import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { RunReport } from '../../src/common/progress';
import type { Manifest } from '../../src/manifest/types';
import { rm } from 'node:fs/promises';
import { createBackupApp, type BackupApp } from './backup-app';
import { createAppFixture, type AppFixture } from './demo-app';
import { startHttpRecorder, type HttpRecorder } from './http-recorder';
import { createDatabase, queryColumn } from './postgres';
import { connectClient, uniqueName } from './temporal';
import { runOutcome } from './runs';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

/*
 * The kill matrix: a scenario runs once undisturbed (the baseline); its history lists every activity it ran.
 * Then, for every activity, the scenario runs again on a fresh app while a real worker process SIGKILLs
 * itself right after that activity did its work (before Temporal heard of it), and, for every long one,
 * in the middle of it; a new worker takes over. Each run must end as the baseline did, with every side
 * effect exactly as often as in the baseline, and nothing left behind: no temp or partial files, no process.
 */

const KILL_HOOK = path.resolve(__dirname, 'kill-hook.js');
/** Activities at least this long in the baseline are also killed halfway through. */
export const LONG_MS = 1_500;
/** Names of what an attempt stages or writes partially; none may be left once a run ended. */
const LEFTOVER = /\.tmp-|\.partial-|\.restoring-|\.attempt-|\.moving$|\.runbook-restore-/;

export interface ScenarioRun {
  /** The folder all of this run's files live under (app root, staging, backups, counters). */
  dir: string;
  taskQueue: string;
  hosts: string[];
  manifestsDir: string;
  /** Worker environment the scenario needs (database URLs, counters). */
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export interface Scenario<R extends ScenarioRun = ScenarioRun> {
  name: string;
  /** A fresh app for one run (baseline or killed), with whatever must exist before the run. */
  prepare(): Promise<R>;
  /** The workflow id the run will have (the kill names its activities before it starts). */
  workflowId(run: R): string;
  /** Starts the run under test. */
  start(client: Client, run: R, workflowId: string): Promise<void>;
  /** Every side effect, counted, plus the facts of the end state (what serves, what was restored). */
  effects(run: R, report: RunReport): Promise<Record<string, unknown>>;
}

export interface Boundary {
  activityId: string;
  activityType: string;
  durationMs: number;
}

export interface KillCase {
  activityId: string;
  activityType: string;
  when: 'after' | 'mid';
  afterMs?: number;
}

export interface CaseResult {
  kill?: KillCase;
  killed: boolean;
  outcome: string;
  effects: Record<string, unknown>;
  leftovers: string[];
  processes: string[];
  error?: string;
  ms: number;
}

/** Every activity of a finished run, in the order they were scheduled, with how long each took. */
export async function boundariesOf(client: Client, workflowId: string): Promise<Boundary[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const time = (e: (typeof events)[number]) =>
    Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const byScheduled = new Map<string, { id: string; type: string; started?: number; ended?: number }>();
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled)
      byScheduled.set(String(e.eventId), {
        id: scheduled.activityId ?? '',
        type: scheduled.activityType?.name ?? '',
      });
    const started = e.activityTaskStartedEventAttributes;
    if (started) byScheduled.get(String(started.scheduledEventId))!.started = time(e);
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (done) byScheduled.get(String(done.scheduledEventId))!.ended = time(e);
  }
  return [...byScheduled.values()].map((a) => ({
    activityId: a.id,
    activityType: a.type,
    durationMs: a.started !== undefined && a.ended !== undefined ? a.ended - a.started : 0,
  }));
}

/** After every activity; halfway through every long one. */
export function killCases(boundaries: Boundary[]): KillCase[] {
  return boundaries.flatMap((b) => [
    { activityId: b.activityId, activityType: b.activityType, when: 'after' as const },
    ...(b.durationMs >= LONG_MS
      ? [
          {
            activityId: b.activityId,
            activityType: b.activityType,
            when: 'mid' as const,
            afterMs: Math.round(b.durationMs / 2),
          },
        ]
      : []),
  ]);
}

/** Files and folders under `dir` an attempt staged or half-wrote. */
export function leftoversIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((rel) => LEFTOVER.test(path.basename(rel)));
}

/** Processes (other than workers) whose command line or working directory lies under `dir`. */
export function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // a process of another user, or gone
      }
      if (cmdline.includes('dist/workers/main.js')) continue;
      if (cmdline.includes(dir) || cwd.startsWith(dir)) found.push(`${pid} ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Runs a scenario once on a fresh app, killing the worker as `kill` says (never, for the baseline). */
export async function runOnce<R extends ScenarioRun>(
  client: Client,
  scenario: Scenario<R>,
  kill?: KillCase,
): Promise<CaseResult & { workflowId: string }> {
  const began = Date.now();
  const run = await scenario.prepare();
  const workflowId = scenario.workflowId(run);
  const workers: WorkerProcess[] = [];
  const worker = async (extra: NodeJS.ProcessEnv = {}) => {
    const started = await startWorkerProcess({
      taskQueue: run.taskQueue,
      hosts: run.hosts,
      manifestsDir: run.manifestsDir,
      env: { ...run.env, NODE_OPTIONS: `--require ${KILL_HOOK}`, ...extra },
      startTimeoutMs: 120_000,
    });
    workers.push(started);
    return started;
  };
  const result: CaseResult & { workflowId: string } = {
    workflowId,
    kill,
    killed: false,
    outcome: '',
    effects: {},
    leftovers: [],
    processes: [],
    ms: 0,
  };
  try {
    const first = await worker(kill ? { RUNBOOK_TEST_KILL: JSON.stringify({ ...kill, workflowId }) } : {});
    await scenario.start(client, run, workflowId);
    if (kill) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the worker was not killed at ${describeKill(kill)}`)),
          180_000,
        );
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        if (first.child.exitCode !== null || first.child.signalCode !== null) done();
        else first.child.once('exit', done);
      });
      result.killed = first.child.signalCode === 'SIGKILL';
      await worker();
    }
    const report = await reportOf(client, workflowId);
    result.outcome = report.outcome;
    // Let what the run stopped finish dying before counting processes.
    await new Promise((r) => setTimeout(r, 500));
    result.effects = await scenario.effects(run, report);
    result.leftovers = leftoversIn(run.dir);
    result.processes = processesUnder(run.dir);
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
    await run.cleanup();
    result.ms = Date.now() - began;
  }
  return result;
}

export function describeKill(kill: KillCase): string {
  return kill.when === 'after'
    ? `after activity ${kill.activityId} (${kill.activityType})`
    : `${kill.afterMs} ms into activity ${kill.activityId} (${kill.activityType})`;
}

/** What a killed run did differently from the baseline: empty when it ended the same, nothing twice or left over. */
export function differences(baseline: CaseResult, result: CaseResult): string[] {
  const found: string[] = [];
  if (result.error) found.push(`error: ${result.error}`);
  if (result.kill && !result.killed) found.push('the worker was not killed');
  if (result.outcome !== baseline.outcome) found.push(`outcome ${result.outcome}, expected ${baseline.outcome}`);
  for (const key of new Set([...Object.keys(baseline.effects), ...Object.keys(result.effects)]))
    if (JSON.stringify(result.effects[key]) !== JSON.stringify(baseline.effects[key]))
      found.push(`${key}: ${JSON.stringify(result.effects[key])}, expected ${JSON.stringify(baseline.effects[key])}`);
  if (result.leftovers.length > 0) found.push(`left behind: ${result.leftovers.join(', ')}`);
  if (result.processes.length !== baseline.processes.length)
    found.push(`processes: ${result.processes.join('; ') || 'none'}, expected ${baseline.processes.length}`);
  return found;
}

/** Runs `fn` over `items`, `limit` at a time. */
export async function mapLimited<T, U>(items: T[], limit: number, fn: (item: T) => Promise<U>): Promise<U[]> {
  const results: U[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/**
 * The whole matrix of one scenario: the baseline, then every kill case (`limit` at a time). Returns the
 * baseline and, per case, what differed (empty lists when the case held).
 */
export async function runKillMatrix<R extends ScenarioRun>(
  client: Client,
  scenario: Scenario<R>,
  options: {
    limit?: number;
    log?: (line: string) => void;
    /** Only these kill cases (at real size: halfway through each long activity, where a kill costs most). */
    only?: (kill: KillCase) => boolean;
  } = {},
): Promise<{ baseline: CaseResult; boundaries: Boundary[]; failures: Array<{ kill: string; differences: string[] }> }> {
  const log = options.log ?? (() => undefined);
  const baseline = await runOnce(client, scenario);
  if (baseline.error || baseline.leftovers.length > 0)
    throw new Error(`${scenario.name}: the baseline run did not end cleanly: ${JSON.stringify(baseline)}`);
  const boundaries = await boundariesOf(client, baseline.workflowId);
  const cases = killCases(boundaries).filter(options.only ?? (() => true));
  log(
    `${scenario.name}: baseline ${baseline.outcome} in ${baseline.ms} ms, ${boundaries.length} activities, ${cases.length} kill cases`,
  );
  const results = await mapLimited(cases, options.limit ?? 2, async (kill) => {
    const result = await runOnce(client, scenario, kill);
    const found = differences(baseline, result);
    log(`${scenario.name}: kill ${describeKill(kill)}: ${found.length ? found.join('; ') : 'held'} (${result.ms} ms)`);
    return { kill: describeKill(kill), differences: found };
  });
  return { baseline, boundaries, failures: results.filter((r) => r.differences.length > 0) };
}

/** The report of a finished run (its result, or its failure's details). */
export async function reportOf(client: Client, workflowId: string): Promise<RunReport> {
  return (await runOutcome(client, workflowId)).report;
}

/** A run whose notifications go to a recording webhook. */
export interface NotifyingRun extends ScenarioRun {
  hook: HttpRecorder;
}

/** What a kill-matrix file's runs share: a Temporal client, an audit database, the webhook they notify. */
export interface KillMatrixSuite {
  readonly client: Client;
  readonly auditUrl: string;
  /** A notify section that sends `on` events to the run's recording webhook. */
  notify(on: Manifest['notify']['on']): Manifest['notify'];
  /** The worker environment that points a run's records at the audit database and its webhook. */
  recordingEnv(hook: HttpRecorder): NodeJS.ProcessEnv;
  /** How often a run was recorded: lines in its deploy log, audit rows, notifications. */
  recorded(
    run: NotifyingRun,
    deployLog: string,
    workflowId: string,
  ): Promise<{ deployLogLines: number; auditRows: number; notifications: number }>;
  /** A demo app that reports to the audit database and the webhook and counts its installs. */
  deployApp(strategy: 'releases' | 'in-place', name: string): Promise<DeployAppRun>;
  /** An app with a database and an uploads folder to back up, reporting to the audit database and the webhook. */
  backupApp(prefix: string): Promise<BackupAppRun>;
}

export interface DeployAppRun extends NotifyingRun {
  fx: AppFixture;
  /** The file the app's install step appends a line to, each time it runs. */
  counter: string;
}

export interface BackupAppRun extends NotifyingRun {
  app: BackupApp;
}

/** Registers the suite's setup and teardown (call it in a `describe`); its fields are ready in the tests. */
export function useKillMatrixSuite(prefix: string): KillMatrixSuite {
  let temporal: Awaited<ReturnType<typeof connectClient>> | undefined;
  let auditUrl: string | undefined;
  beforeAll(async () => {
    temporal = await connectClient();
    auditUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, uniqueName(prefix).replace(/-/g, '_'));
  });
  afterAll(async () => temporal?.close());
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the kill-matrix suite is used before its beforeAll ran');
    return value;
  };
  return {
    get client() {
      return ready(temporal).client;
    },
    get auditUrl() {
      return ready(auditUrl);
    },
    notify: (on) => ({ on, channels: [{ webhook: { urlEnv: 'KILL_WEBHOOK_URL', format: 'json' } }] }),
    recordingEnv: (hook) => ({ KILL_WEBHOOK_URL: `${hook.url}/hooks`, RUNBOOK_DATABASE_URL: ready(auditUrl) }),
    async deployApp(strategy, name) {
      const fx = await createAppFixture({ strategy, name });
      const hook = await startHttpRecorder(() => ({ status: 200 }));
      fx.manifest.notify = this.notify(['succeeded', 'rolled_back', 'failed']);
      fx.save();
      const counter = path.join(fx.dir, 'installs.txt');
      return {
        fx,
        hook,
        counter,
        dir: fx.dir,
        taskQueue: fx.taskQueue,
        hosts: [fx.host],
        manifestsDir: fx.manifestsDir,
        env: { INSTALL_COUNTER: counter, ...this.recordingEnv(hook) },
        async cleanup() {
          await hook.close();
          await fx.cleanup();
        },
      };
    },
    async backupApp(prefix) {
      const hook = await startHttpRecorder(() => ({ status: 200 }));
      const app = await createBackupApp({ prefix, extra: { notify: this.notify(['succeeded', 'failed']) } });
      return {
        app,
        hook,
        dir: app.root,
        taskQueue: uniqueName(`${prefix}-q`),
        hosts: [app.host],
        manifestsDir: app.manifestsDir,
        env: { ...app.env, ...this.recordingEnv(hook) },
        async cleanup() {
          await hook.close();
          await rm(app.root, { recursive: true, force: true });
        },
      };
    },
    recorded: async (run, deployLog, workflowId) => ({
      deployLogLines: countLines(deployLog),
      auditRows: (
        await queryColumn(ready(auditUrl), `SELECT count(*)::int FROM runbook.runs WHERE workflow_id = '${workflowId}'`)
      )[0] as number,
      notifications: run.hook.requests.length,
    }),
  };
}

/** The non-empty lines of a file, 0 when it does not exist. */
export function countLines(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0;
}
