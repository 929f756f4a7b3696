import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityConfig } from '../activities';
import { ORCHESTRATION_TASK_QUEUE } from '../common/constants';
import { hostTaskQueue } from '../common/names';
import { pruneLockDir } from '../activities/attempt';
import { stateDir } from '../activities/host-state';
import { attemptInterceptors } from './attempts';
import { workflowSource } from './bundle';
import { deploymentOptions, type WorkerVersion } from './versioning';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  /** Hosts whose activities this process runs (task queue runbook-host-<host>). */
  hosts: string[];
  /** Also run workflows and orchestration activities. */
  orchestrate: boolean;
  /** The orchestration task queue (default `runbook`). */
  taskQueue?: string;
  activities: ActivityConfig;
  identity?: string;
  /** Payload encryption (client/codec.ts); undefined: the SDK's plain JSON. */
  dataConverter?: DataConverter;
  /** Worker Versioning: every worker of the process joins this deployment version; undefined: unversioned. */
  version?: WorkerVersion;
}

/**
 * Creates the workers of one process: the orchestration worker (workflows on `runbook`) and one worker per
 * host queue. Every worker registers every activity; the workflow picks the queue, which picks the host.
 */
export async function createWorkers(options: WorkerOptions): Promise<Worker[]> {
  const activities = createActivities(options.activities);
  // The per-activity locks that keep attempts apart, in Runbook's private state folder with its other records.
  const lockDir = stateDir('locks');
  await pruneLockDir(lockDir);
  const common = {
    connection: options.connection,
    namespace: options.namespace,
    activities,
    interceptors: { activity: [attemptInterceptors(lockDir)] },
    ...(options.identity ? { identity: options.identity } : {}),
    shutdownGraceTime: '5s' as const,
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    ...(options.version ? { workerDeploymentOptions: deploymentOptions(options.version) } : {}),
  };
  const workers: Worker[] = [];
  if (options.orchestrate) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: options.taskQueue ?? ORCHESTRATION_TASK_QUEUE,
        ...workflowSource({ encodedFailures: Boolean(options.dataConverter?.failureConverterPath) }),
      }),
    );
  }
  for (const host of options.hosts) {
    workers.push(await Worker.create({ ...common, taskQueue: hostTaskQueue(host) }));
  }
  return workers;
}

/** Runs workers until all stop (SIGINT/SIGTERM make the SDK shut them down gracefully). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}
