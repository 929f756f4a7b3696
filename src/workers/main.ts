import os from 'node:os';
import { NativeConnection } from '@temporalio/worker';
import { activityConfigFromEnv } from '../activities';
import { describeContainment, guardHostWorker } from '../activities/containment';
import { DEFAULT_NAMESPACE, DEFAULT_TEMPORAL_ADDRESS } from '../common/constants';
import { createWorkers, runWorkers } from './worker';

export interface WorkerProcessOptions {
  address?: string;
  namespace?: string;
  hosts: string[];
  orchestrate: boolean;
  taskQueue?: string;
}

/** A worker process: connects, runs until SIGINT/SIGTERM, shuts down gracefully. */
export async function runWorkerProcess(
  options: WorkerProcessOptions,
  log: (line: string) => void = console.log,
): Promise<void> {
  const address = options.address ?? process.env.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS;
  const namespace = options.namespace ?? process.env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE;
  const connection = await NativeConnection.connect({ address });
  try {
    const activities = activityConfigFromEnv();
    await guardHostWorker();
    const workers = await createWorkers({
      connection,
      namespace,
      hosts: options.hosts,
      orchestrate: options.orchestrate,
      taskQueue: options.taskQueue ?? process.env.RUNBOOK_TASK_QUEUE,
      activities,
      identity: `${process.pid}@${os.hostname()}`,
    });
    const queues = workers.map((w) => w.options.taskQueue).join(', ');
    log(
      `runbook worker ${process.pid} on ${address} (${namespace}): task queues ${queues}; manifests ${activities.manifestsDir}; ${describeContainment()}`,
    );
    await runWorkers(workers);
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  const hosts = (process.env.RUNBOOK_HOSTS ?? process.env.RUNBOOK_HOST ?? os.hostname()).split(',').filter(Boolean);
  runWorkerProcess({ hosts, orchestrate: process.env.RUNBOOK_ORCHESTRATE !== 'false' }).catch((error) => {
    console.error(`runbook worker: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
