/**
 * Stand-in workflows that keep the contract every Runbook workflow keeps (a ProgressTracker serving the
 * `progress` query, a RunReport as result, a failure whose details[0] is the RunReport, the approve/abort
 * signals), so the CLI's generic start/watch/report code is tested apart from any one real workflow.
 * They run on their own task queue in the test file that uses them, under the real type names.
 */
import { ApplicationFailure, condition, defineSignal, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { BackupInput, DeployInput } from '../../src/common/contracts';
import type { Outcome, RunKind, RunReport } from '../../src/common/progress';
import { isoNow } from '../../src/workflows/clock';
import { failureMessage, ProgressTracker } from '../../src/workflows/progress';

function report(tracker: ProgressTracker, startedAt: string, outcome: Outcome, summary: string, error?: string): RunReport {
  const info = workflowInfo();
  return {
    kind: tracker.kind as RunKind,
    app: tracker.app,
    outcome,
    workflowId: info.workflowId,
    runId: info.runId,
    startedAt,
    finishedAt: isoNow(),
    summary,
    steps: tracker.list(),
    ...(error ? { error } : {}),
  };
}

/** target `broken`: the upload step fails and the run fails with its report. */
export async function backup(input: BackupInput): Promise<RunReport> {
  const startedAt = isoNow();
  const tracker = new ProgressTracker('backup', input.app);
  tracker.plan(['dump database', 'upload archive', 'prune old archives']);
  await tracker.run('dump database', () => sleep('300ms'), () => 'dumped 3 tables');
  try {
    await tracker.run('upload archive', async () => {
      await sleep('300ms');
      if (input.target === 'broken') throw ApplicationFailure.nonRetryable('bucket /srv/backups is full; free space and run again');
    });
  } catch (error) {
    tracker.skip('prune old archives', 'upload failed');
    const message = failureMessage(error);
    throw ApplicationFailure.create({
      message,
      nonRetryable: true,
      details: [report(tracker, startedAt, 'failed', `backup ${input.app} failed: ${message}`, message)],
    });
  }
  await tracker.run('prune old archives', () => sleep('100ms'));
  return report(tracker, startedAt, 'succeeded', `backup ${input.app} ${input.target ?? 'all'} done`);
}

const approve = defineSignal('approve');
const abort = defineSignal('abort');

/** Waits at an approval gate; `abort` rolls it back. */
export async function deploy(input: DeployInput): Promise<RunReport> {
  const startedAt = isoNow();
  const tracker = new ProgressTracker('deploy', input.app);
  let decision: 'approve' | 'abort' | undefined;
  setHandler(approve, () => void (decision ??= 'approve'));
  setHandler(abort, () => void (decision ??= 'abort'));
  tracker.plan(['prepare release', 'approval', 'switch']);
  await tracker.run('prepare release', () => sleep('100ms'));
  tracker.wait('approval', 'runbook approve to switch');
  tracker.state = 'waiting-approval';
  await condition(() => decision !== undefined);
  tracker.state = 'running';
  if (decision === 'abort') {
    tracker.skip('approval', 'aborted by an operator');
    tracker.skip('switch', 'aborted');
    throw ApplicationFailure.create({
      message: 'aborted at the approval gate',
      nonRetryable: true,
      details: [report(tracker, startedAt, 'rolled_back', `deploy ${input.app} ${input.ref} aborted`, 'aborted at the approval gate')],
    });
  }
  await tracker.run('approval', async () => undefined, () => 'approved');
  await tracker.run('switch', () => sleep('100ms'));
  return report(tracker, startedAt, 'succeeded', `deploy ${input.app} ${input.ref} succeeded`);
}
