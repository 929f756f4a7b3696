/**
 * "Runbook version B" for the upgrade test: the shipped workflows, but a deploy that waits a moment first. That
 * change does not replay a deploy history of version A (the history has no timer there: a non-determinism
 * error), so a deploy of A that completes proves it stayed on A's workers; the timer marks a deploy run by B.
 */
import { sleep } from '@temporalio/workflow';
import type { RunReport } from '../../src/common/progress';
import { deploy as shippedDeploy } from '../../src/workflows';
import { failRunsOnErrors } from '../../src/workflows/run-guard';

export { inspect, rollback, releases, job, backup, backups, restore, appLock } from '../../src/workflows';

export async function deploy(raw: unknown): Promise<RunReport> {
  await sleep('10ms');
  return shippedDeploy(raw);
}

failRunsOnErrors('PINNED', deploy);
