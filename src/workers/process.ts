import os from 'node:os';
import { NativeConnection } from '@temporalio/worker';
import { activityConfigFromEnv } from '../activities';
import { describeContainment, guardHostWorker } from '../activities/containment';
import { dataConverterFromEnv } from '../client/codec';
import { checkConnection, connectionOptions } from '../client/connection';
import { diagnoseConnection, probeConnection } from '../client/connection-check';
import type { WorkerProcessOptions } from './options';
import { installMetricsRuntime } from './metrics';
import { becomeCurrentWhenReady, versionName } from './versioning';
import { createWorkers, describeTuning, runWorkers } from './worker';

/**
 * A worker process: checks the connection (a wrong certificate, name, key or address fails at once with exit 3
 * instead of the SDK's retry loop), connects, runs until SIGINT/SIGTERM, shuts down gracefully.
 */
export async function runWorkerProcess(
  options: WorkerProcessOptions,
  log: (line: string) => void = console.log,
): Promise<void> {
  const { settings } = options;
  // The runtime (and its metrics endpoint) comes before any connection: the SDK allows one per process.
  const metricsUrl = options.metricsAddress ? installMetricsRuntime(options.metricsAddress) : undefined;
  await checkConnection(settings);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptions(settings));
  } catch (error) {
    throw diagnoseConnection(settings, error, await probeConnection(settings));
  }
  try {
    const activities = activityConfigFromEnv();
    await guardHostWorker();
    const identity = `${process.pid}@${os.hostname()}`;
    const workers = await createWorkers({
      connection,
      namespace: settings.namespace,
      hosts: options.hosts,
      orchestrate: options.orchestrate,
      taskQueue: settings.taskQueue,
      activities,
      identity,
      dataConverter: dataConverterFromEnv(),
      ...(options.version ? { version: options.version } : {}),
      tuning: options.tuning,
    });
    const queues = workers.map((w) => w.options.taskQueue).join(', ');
    log(
      `runbook worker ${process.pid} on ${settings.address} (${settings.namespace}): task queues ${queues}; manifests ${activities.manifestsDir}${metricsUrl ? `; metrics on ${metricsUrl}` : ''}${options.version ? `; worker deployment ${versionName(options.version)}` : ''}; ${describeContainment()}; tuning: ${describeTuning(workers)}`,
    );
    const stopped = new AbortController();
    const promotion = options.version
      ? becomeCurrentWhenReady({
          service: connection.workflowService,
          namespace: settings.namespace,
          version: options.version,
          identity,
          log,
          signal: stopped.signal,
        })
      : Promise.resolve();
    try {
      await runWorkers(workers);
    } finally {
      stopped.abort();
      await promotion;
    }
  } finally {
    await connection.close();
  }
}
