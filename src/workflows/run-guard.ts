import {
  CancellationScope,
  isCancellation,
  log,
  setWorkflowOptions,
  TemporalFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { VersioningBehavior } from '@temporalio/common';
import type { RunKind, RunReport } from '../common/progress';
import { orchestration } from './activities';
import { failureMessage } from './progress';
import { currentRun, endRun } from './run';

/**
 * Registers workflows so that any error their code throws fails the run. By default the SDK fails only the
 * workflow task on a plain Error (a TypeError from a bug), retrying it forever while the run stays Running
 * and a deploy holds its app's lock. Non-determinism errors still retry the task (a fixed worker resumes).
 * `versioningBehavior` matters to versioned workers only (workers/versioning.ts): PINNED runs finish on the
 * Runbook version they started on; AUTO_UPGRADE runs move to the current version at their next task.
 */
export function failRunsOnErrors(
  versioningBehavior: VersioningBehavior,
  ...workflows: Array<(...args: never[]) => Promise<unknown>>
): void {
  for (const workflow of workflows)
    setWorkflowOptions(
      // The server refuses a behaviour from an unversioned worker: only a versioned one's version has a deployment.
      () => ({
        failureExceptionTypes: [Error],
        ...(workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {}),
      }),
      workflow,
    );
}

/**
 * Runs a workflow's body; an unexpected error (a bug, not a failure the run handles) ends the run as failed
 * through `endRun`, with what every failed run gets: a report with the steps so far, an error log line, the
 * deploy log and audit record, the alert of the manifest's channels, the Outcome search attribute.
 */
export async function failOnBug(kind: RunKind, app: string, body: () => Promise<RunReport>): Promise<RunReport> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof TemporalFailure || isCancellation(error)) throw error;
    const message = error instanceof Error ? `${error.name}: ${failureMessage(error)}` : String(error);
    log.error("unexpected error in Runbook's workflow code; the run fails", {
      kind,
      app,
      error: message,
      stack: error instanceof Error ? error.stack : undefined,
    });
    const run = currentRun(kind, app);
    run.progress.state = 'failed';
    run.manifest = await CancellationScope.nonCancellable(() => orchestration.loadManifest(app)).catch(() => undefined);
    return endRun(
      run,
      {
        outcome: 'failed',
        summary: `${kind} of ${app} FAILED: unexpected error in Runbook's workflow code (${message}); check what the steps left, and report this bug with the run's link`,
        error: message,
      },
      { failureType: 'WorkflowBug' },
    );
  }
}
