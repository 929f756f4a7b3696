import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityConfig } from '../activities';
import { ORCHESTRATION_TASK_QUEUE } from '../common/constants';
import { hostTaskQueue } from '../common/names';
import { pruneLockDir } from '../activities/attempt';
import { endSpare } from '../activities/containment';
import { stateDir } from '../activities/host-state';
import { attemptInterceptors } from './attempts';
import { workflowSource } from './bundle';
import type { WorkerTuning } from './options';
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
  /** Slots, workflow cache, sticky queue timeout (RUNBOOK_MAX_* variables); unset ones keep the SDK's defaults. */
  tuning?: WorkerTuning;
}

/**
 * Creates the workers of one process: the orchestration worker (workflows on `runbook`) and one worker per
 * host queue. Every worker registers every activity; the workflow picks the queue, which picks the host.
 */
export async function createWorkers(options: WorkerOptions): Promise<Worker[]> {
  const activities = createActivities(options.activities);
  const tuning = options.tuning ?? {};
  // The folder that scopes the claims keeping attempts apart (workers sharing the state folder exclude each other);
  // lock files older versions left there are pruned.
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
    ...(tuning.maxConcurrentActivityTaskExecutions !== undefined
      ? { maxConcurrentActivityTaskExecutions: tuning.maxConcurrentActivityTaskExecutions }
      : {}),
  };
  const workflowTuning = {
    ...(tuning.maxConcurrentWorkflowTaskExecutions !== undefined
      ? { maxConcurrentWorkflowTaskExecutions: tuning.maxConcurrentWorkflowTaskExecutions }
      : {}),
    ...(tuning.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: tuning.maxCachedWorkflows } : {}),
    ...(tuning.stickyQueueScheduleToStartTimeoutMs !== undefined
      ? { stickyQueueScheduleToStartTimeout: tuning.stickyQueueScheduleToStartTimeoutMs }
      : {}),
  };
  const workers: Worker[] = [];
  if (options.orchestrate) {
    workers.push(
      await Worker.create({
        ...common,
        ...workflowTuning,
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

/** The settings the orchestration worker (else the first) runs with, defaults included, for its start line. */
export function describeTuning(workers: Worker[]): string {
  const options = workers[0]?.options;
  if (!options) return '';
  const slots = (supplier: unknown) =>
    (supplier as { type?: string; numSlots?: number } | undefined)?.type === 'fixed-size'
      ? String((supplier as { numSlots: number }).numSlots)
      : 'by resources';
  return [
    `maxConcurrentActivityTaskExecutions ${slots(options.tuner.activityTaskSlotSupplier)}`,
    `maxConcurrentWorkflowTaskExecutions ${slots(options.tuner.workflowTaskSlotSupplier)}`,
    `maxCachedWorkflows ${options.maxCachedWorkflows}`,
    `stickyQueueScheduleToStartTimeout ${options.stickyQueueScheduleToStartTimeoutMs}ms`,
  ].join(', ');
}

/**
 * Runs workers until all stop (SIGINT/SIGTERM make the SDK shut them down gracefully), then ends what their
 * commands kept ready (the spare shell and idle cgroups).
 */
export async function runWorkers(workers: Worker[]): Promise<void> {
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await endSpare();
  }
}
