import os from 'node:os';
import { settingsFromEnv, type TemporalSettings } from '../client/connection';
import { UsageError } from '../client/errors';
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
