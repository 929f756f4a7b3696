import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { activityConfigFromEnv, type ActivityConfig } from '../../src/activities';
import { connectionOptions, settingsFromEnv } from '../../src/client/connection';
import type { WorkerTuning } from '../../src/workers/options';
import { createWorkers, runWorkers } from '../../src/workers/worker';
import { resolveTemporalCli } from '../../src/devserver/temporal-cli';
import { execFileSync } from 'node:child_process';

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

let counter = 0;
/** A name no other test (file or run) uses: task queues, hosts, apps, workflow ids. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 6)}`;
}

export function temporalAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address)
    throw new Error('TEMPORAL_ADDRESS is not set: run the tests through jest (global setup starts the server)');
  return address;
}

/**
 * Runs a Temporal CLI command against the test server (`temporal workflow show …`) and returns its output:
 * `temporalCli(['workflow', 'show'], ['--workflow-id', id, '--output', 'json'])`.
 */
export function temporalCli(command: string[], args: string[]): string {
  const cli = resolveTemporalCli();
  if (cli.kind !== 'path') throw new Error('the tests need the Temporal CLI (make setup installs it)');
  return execFileSync(cli.path, [...command, '--address', temporalAddress(), ...args], { encoding: 'utf8' });
}

/** The test server's connection options (plain for the dev server; mTLS for the cluster suite's cluster). */
export function testConnectionOptions() {
  temporalAddress();
  return connectionOptions(settingsFromEnv());
}

export async function connectClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect(testConnectionOptions());
  return {
    client: new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE }),
    close: () => connection.close(),
  };
}

export interface TestWorker {
  workers: Worker[];
  stop(): Promise<void>;
}

/** In-process workers on the test server: an orchestration queue and host queues, with real activities. */
export async function startTestWorker(options: {
  taskQueue: string;
  hosts?: string[];
  activities?: Partial<ActivityConfig>;
  tuning?: WorkerTuning;
}): Promise<TestWorker> {
  quietRuntime();
  const connection = await NativeConnection.connect(testConnectionOptions());
  const workers = await createWorkers({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    hosts: options.hosts ?? [],
    orchestrate: true,
    taskQueue: options.taskQueue,
    activities: { ...activityConfigFromEnv(), ...options.activities },
    tuning: options.tuning,
  });
  const running = runWorkers(workers);
  return {
    workers,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await connection.close();
    },
  };
}
