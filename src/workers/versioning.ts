import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { UsageError } from '../client/errors';

export const BUILD_ID_VARIABLE = 'RUNBOOK_BUILD_ID';
export const DEPLOYMENT_NAME_VARIABLE = 'RUNBOOK_DEPLOYMENT_NAME';

/** A worker's place in Worker Versioning: the worker deployment and this installation's build id. */
export interface WorkerVersion {
  deploymentName: string;
  buildId: string;
}

type WorkflowService = temporal.api.workflowservice.v1.WorkflowService;
const VersionStatus = temporal.api.enums.v1.WorkerDeploymentVersionStatus;
// The deployment does not exist until its first worker polls.
const GRPC_NOT_FOUND = 5;

// What the server accepts in a deployment name and a build id (no spaces or control characters; 255 at most).
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/;

/**
 * RUNBOOK_BUILD_ID (or --build-id) turns Worker Versioning on; the deployment is RUNBOOK_DEPLOYMENT_NAME, by
 * default the orchestration task queue (one deployment per Runbook installation). Undefined: unversioned.
 */
export function workerVersionFromEnv(
  flags: { buildId?: string; deployment?: string },
  env: NodeJS.ProcessEnv,
  taskQueue: string,
): WorkerVersion | undefined {
  const buildId = (flags.buildId ?? env[BUILD_ID_VARIABLE])?.trim();
  const deploymentName = (flags.deployment ?? env[DEPLOYMENT_NAME_VARIABLE])?.trim() || taskQueue;
  if (!buildId) return undefined;
  for (const [name, value] of [
    [`${BUILD_ID_VARIABLE} (--build-id)`, buildId],
    [`${DEPLOYMENT_NAME_VARIABLE} (--deployment)`, deploymentName],
  ])
    if (!NAME.test(value))
      throw new UsageError(
        `${name}=${value}: expected letters, digits, '.', '_', '+' or '-' (at most 255, starting with a letter or digit)`,
        `e.g. ${BUILD_ID_VARIABLE}=0.2.0, the Runbook version this worker runs`,
      );
  return { deploymentName, buildId };
}

/**
 * Every worker of a versioned process joins the deployment version, the host queues too: a pinned run's
 * activities go to the host workers of its own version. Workflows name their behaviour (workflows/index.ts);
 * one that does not stays on the version it started on.
 */
export function deploymentOptions(version: WorkerVersion): WorkerDeploymentOptions {
  return { version, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' };
}

export function versionName(version: WorkerVersion): string {
  return `${version.deploymentName}:${version.buildId}`;
}

/**
 * Makes a new version current once the server accepts it: new runs then start on it, pinned runs finish on the
 * version they started on. A version that was current (or ramping) before never takes over again by starting
 * (an old worker restarted by systemd must not undo an upgrade); going back is an operator's
 * `temporal worker deployment set-current-version`. The server refuses while a task queue the current version
 * serves has no poller of this one (another machine's worker not upgraded yet): this retries until it does.
 */
export async function becomeCurrentWhenReady(options: {
  service: WorkflowService;
  namespace: string;
  version: WorkerVersion;
  identity: string;
  log: (line: string) => void;
  signal: AbortSignal;
  retryMs?: number;
}): Promise<void> {
  const { service, namespace, version, identity, log, signal } = options;
  const name = versionName(version);
  let lastProblem = '';
  const retry = (problem: string) => {
    if (problem !== lastProblem) log(`worker deployment ${name}: ${problem}; retrying`);
    lastProblem = problem;
  };
  while (!signal.aborted) {
    try {
      const { workerDeploymentInfo } = await service.describeWorkerDeployment({
        namespace,
        deploymentName: version.deploymentName,
      });
      const current = workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId || undefined;
      const ours = workerDeploymentInfo?.versionSummaries?.find(
        (s) => s.deploymentVersion?.buildId === version.buildId,
      );
      const was = current ?? 'unversioned workers';
      if (current === version.buildId) return log(`worker deployment ${name}: the current version`);
      if (!ours) {
        retry('waiting for the server to see this version poll');
      } else if (ours.status !== VersionStatus.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE) {
        return log(
          `worker deployment ${name}: was current before, not taking over from ${was} (temporal worker deployment set-current-version makes it current again)`,
        );
      } else {
        await service.setWorkerDeploymentCurrentVersion({
          namespace,
          deploymentName: version.deploymentName,
          buildId: version.buildId,
          identity,
        });
        return log(
          `worker deployment ${name}: now the current version (was ${was}); runs pinned to another version finish on its workers`,
        );
      }
    } catch (error) {
      if ((error as { code?: unknown }).code === GRPC_NOT_FOUND)
        retry('waiting for the server to see this version poll');
      else retry(`not current yet: ${error instanceof Error ? error.message : String(error)}`);
    }
    await sleep(options.retryMs ?? 2_000, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
