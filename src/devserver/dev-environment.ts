/**
 * `runbook dev` and `runbook demo`: a real Temporal dev server (Web UI, start-workflow form, search
 * attributes) and a worker for every host the manifests name, in one process.
 */
import net from 'node:net';
import os from 'node:os';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { activityConfigFromEnv } from '../activities';
import { ORCHESTRATION_TASK_QUEUE } from '../common/constants';
import { guardHostWorker } from '../activities/containment';
import { startDevServer, type DevServer } from './dev-server';
import { createWorkers, runWorkers } from '../workers/worker';
import { dataConverterFromEnv } from '../client/codec';
import { UsageError } from '../client/errors';
import { loadAllManifests } from '../manifest/lookup';

export interface DevEnvironmentOptions {
  port?: number;
  uiPort?: number;
  /** SQLite file that keeps runs across restarts; in memory when omitted. */
  dbFilename?: string;
  /** Hosts whose activities the worker runs; default every host of every manifest, and this machine. */
  hosts?: string[];
  manifestsDir: string;
  taskQueue?: string;
}

export interface DevEnvironment {
  server: DevServer;
  hosts: string[];
  taskQueues: string[];
  /** The environment another `runbook` command needs to reach this server. */
  env: Record<string, string>;
  /** Resolves when the workers stop (after `stop`). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

let runtimeInstalled = false;
/** Quiet SDK logs, and no SDK signal handlers: the command decides what Ctrl-C stops, in which order. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
}

export function devHosts(manifestsDir: string, explicit: string[] | undefined): string[] {
  if (explicit && explicit.length > 0) return [...new Set(explicit)];
  const fromManifests = loadAllManifests(manifestsDir).flatMap((m) => m.hosts);
  return [...new Set([...fromManifests, os.hostname()])];
}

export async function startDevEnvironment(options: DevEnvironmentOptions): Promise<DevEnvironment> {
  for (const [flag, port] of [
    ['--port', options.port],
    ['--ui-port', options.uiPort],
  ] as const) {
    if (port !== undefined && !(await portIsFree(port)))
      throw new UsageError(
        `port ${port} (${flag}) is in use; is another dev server running?`,
        `stop it, or pass ${flag} with a free port`,
      );
  }
  installQuietRuntime();
  const server = await startDevServer({ port: options.port, uiPort: options.uiPort, dbFilename: options.dbFilename });
  const hosts = devHosts(options.manifestsDir, options.hosts);
  const taskQueue = options.taskQueue ?? ORCHESTRATION_TASK_QUEUE;
  const env = {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    TEMPORAL_UI_URL: server.uiUrl,
    RUNBOOK_MANIFESTS: options.manifestsDir,
    RUNBOOK_TASK_QUEUE: taskQueue,
  };
  let workers: Worker[];
  try {
    await guardHostWorker();
    workers = await createWorkers({
      connection: server.env.nativeConnection,
      namespace: server.namespace,
      hosts,
      orchestrate: true,
      taskQueue,
      activities: activityConfigFromEnv({ ...process.env, ...env }),
      identity: `runbook-dev-${process.pid}@${os.hostname()}`,
      dataConverter: dataConverterFromEnv(),
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  const done = runWorkers(workers);
  let stopping: Promise<void> | undefined;
  return {
    server,
    hosts,
    taskQueues: workers.map((w) => w.options.taskQueue),
    env,
    done,
    stop() {
      stopping ??= (async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await done.catch(() => undefined);
        await server.stop();
      })();
      return stopping;
    },
  };
}

/** Stops the environment on the first Ctrl-C or SIGTERM; a second one exits at once. */
export function stopOnSignals(environment: Pick<DevEnvironment, 'stop'>, say: (line: string) => void): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    say(`\n${signal}: stopping the worker and the dev server…`);
    environment.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
