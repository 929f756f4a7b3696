import os from 'node:os';
import { settingsFromEnv, type TemporalSettings } from '../client/connection';
import { UsageError } from '../client/errors';
import { parseDuration } from '../common/duration';
import { metricsAddressFromEnv } from './metrics';
import { workerVersionFromEnv, type WorkerVersion } from './versioning';

/** What a worker process runs and where; `runbook worker` and `node dist/workers/main.js` read it the same way. */
export interface WorkerProcessOptions {
  settings: TemporalSettings;
  /** Hosts whose activities this process runs (task queue runbook-host-<host>). */
  hosts: string[];
  /** Also run the workflows and orchestration activities. */
  orchestrate: boolean;
  /** `host:port` of the Prometheus endpoint (SDK and Runbook metrics); none when undefined. */
  metricsAddress?: string;
  /** Worker Versioning (RUNBOOK_BUILD_ID); undefined: an unversioned worker. */
  version?: WorkerVersion;
  /** Slots, workflow cache and sticky queue timeout; each one unset keeps the SDK's default. */
  tuning: WorkerTuning;
}

/**
 * How much one worker process takes on at once (docs/production.md, "Sizing a worker"). `npm run bench -- scale`
 * measures a setting before it is changed.
 */
export interface WorkerTuning {
  /** RUNBOOK_MAX_CONCURRENT_ACTIVITIES: activities each task queue runs at once (SDK default 100). */
  maxConcurrentActivityTaskExecutions?: number;
  /** RUNBOOK_MAX_CONCURRENT_WORKFLOW_TASKS: workflow tasks run at once (SDK default 40). */
  maxConcurrentWorkflowTaskExecutions?: number;
  /** RUNBOOK_MAX_CACHED_WORKFLOWS: workflows kept in memory between tasks (SDK default: from the heap size). */
  maxCachedWorkflows?: number;
  /** RUNBOOK_STICKY_QUEUE_TIMEOUT: how long a task waits for this worker's cache before any worker takes it (SDK default 10s). */
  stickyQueueScheduleToStartTimeoutMs?: number;
}

/** Command-line flags; each one wins over its environment variable. */
export interface WorkerFlags {
  host?: string[];
  orchestrate?: boolean;
  taskQueue?: string;
  metrics?: string;
  buildId?: string;
  deployment?: string;
}

/**
 * Flags, then RUNBOOK_HOSTS (or RUNBOOK_HOST), RUNBOOK_ORCHESTRATE, RUNBOOK_TASK_QUEUE, RUNBOOK_BUILD_ID and
 * RUNBOOK_DEPLOYMENT_NAME, then defaults (the
 * machine's hostname, orchestration on). The connection comes from settingsFromEnv (TEMPORAL_* and profiles).
 */
export function workerOptionsFromEnv(
  flags: WorkerFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): WorkerProcessOptions {
  const hosts = flags.host?.length
    ? flags.host
    : (env.RUNBOOK_HOSTS ?? env.RUNBOOK_HOST ?? os.hostname())
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
  const orchestrate = flags.orchestrate === false ? false : booleanEnv(env, 'RUNBOOK_ORCHESTRATE', true);
  if (hosts.length === 0 && !orchestrate)
    throw new UsageError(
      'nothing to run: no host (--host, RUNBOOK_HOSTS) and orchestration off (--no-orchestrate, RUNBOOK_ORCHESTRATE=false)',
      'name a host with --host or RUNBOOK_HOSTS, or turn orchestration on',
    );
  const settings = settingsFromEnv(env);
  const metricsAddress = metricsAddressFromEnv(flags.metrics ? { RUNBOOK_METRICS_ADDRESS: flags.metrics } : env);
  const taskQueue = flags.taskQueue ?? settings.taskQueue;
  const version = workerVersionFromEnv(flags, env, taskQueue);
  return {
    settings: { ...settings, taskQueue },
    hosts,
    orchestrate,
    tuning: workerTuningFromEnv(env),
    ...(metricsAddress ? { metricsAddress } : {}),
    ...(version ? { version } : {}),
  };
}

function booleanEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new UsageError(`${name}=${env[name]}: expected true or false`, `set ${name}=true or ${name}=false`);
}

/** RUNBOOK_MAX_CONCURRENT_ACTIVITIES, RUNBOOK_MAX_CONCURRENT_WORKFLOW_TASKS, RUNBOOK_MAX_CACHED_WORKFLOWS, RUNBOOK_STICKY_QUEUE_TIMEOUT. */
export function workerTuningFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerTuning {
  const activities = countEnv(env, 'RUNBOOK_MAX_CONCURRENT_ACTIVITIES', 1);
  const workflowTasks = countEnv(env, 'RUNBOOK_MAX_CONCURRENT_WORKFLOW_TASKS', 2);
  const cached = countEnv(env, 'RUNBOOK_MAX_CACHED_WORKFLOWS', 0);
  if (cached !== undefined && cached > 0 && cached < 2)
    throw new UsageError(
      'RUNBOOK_MAX_CACHED_WORKFLOWS=1: the workflow cache holds 0 (off) or at least 2 workflows',
      'set RUNBOOK_MAX_CACHED_WORKFLOWS=0 or a number of 2 or more',
    );
  if (cached !== undefined && cached > 0 && workflowTasks !== undefined && workflowTasks > cached)
    throw new UsageError(
      `RUNBOOK_MAX_CONCURRENT_WORKFLOW_TASKS=${workflowTasks} is more than RUNBOOK_MAX_CACHED_WORKFLOWS=${cached}: a task runs a cached workflow`,
      'lower RUNBOOK_MAX_CONCURRENT_WORKFLOW_TASKS or raise RUNBOOK_MAX_CACHED_WORKFLOWS',
    );
  const sticky = env.RUNBOOK_STICKY_QUEUE_TIMEOUT?.trim();
  const stickyMs = sticky ? parseDuration(sticky) : undefined;
  if (sticky && (stickyMs === undefined || stickyMs < 1000))
    throw new UsageError(
      `RUNBOOK_STICKY_QUEUE_TIMEOUT=${sticky}: expected a duration of at least 1s such as 10s or 1m`,
      'set RUNBOOK_STICKY_QUEUE_TIMEOUT=10s (the default) or longer',
    );
  return {
    ...(activities !== undefined ? { maxConcurrentActivityTaskExecutions: activities } : {}),
    ...(workflowTasks !== undefined ? { maxConcurrentWorkflowTaskExecutions: workflowTasks } : {}),
    ...(cached !== undefined ? { maxCachedWorkflows: cached } : {}),
    ...(stickyMs !== undefined ? { stickyQueueScheduleToStartTimeoutMs: stickyMs } : {}),
  };
}

function countEnv(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const value = env[name]?.trim();
  if (value === undefined || value === '') return undefined;
  const count = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(count) || count < min)
    throw new UsageError(
      `${name}=${env[name]}: expected a whole number of at least ${min}`,
      `set ${name}=${min} or more`,
    );
  return count;
}
