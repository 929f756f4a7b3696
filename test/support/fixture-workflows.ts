/**
 * A stand-in workflow that keeps the contract every Runbook workflow keeps (a ProgressTracker serving the
 * `progress` query, a RunReport as result, a failure whose details[0] is the RunReport), so the CLI's
 * generic start/watch/report code is tested apart from any one real workflow. It runs on its own task
 * queue in the test file that uses it, under a real type name.
 */
import { ApplicationFailure, sleep, workflowInfo } from '@temporalio/workflow';
import type { BackupInput } from '../../src/common/contracts';
import type { Outcome, RunKind, RunReport } from '../../src/common/progress';
import { isoNow } from '../../src/workflows/clock';
import { failureMessage, ProgressTracker } from '../../src/workflows/progress';

function report(
  tracker: ProgressTracker,
  startedAt: string,
  outcome: Outcome,
  summary: string,
  error?: string,
): RunReport {
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
  await tracker.run(
    'dump database',
    () => sleep('300ms'),
    () => 'dumped 3 tables',
  );
  try {
    await tracker.run('upload archive', async () => {
      await sleep('300ms');
      if (input.target === 'broken')
        throw ApplicationFailure.nonRetryable('bucket /srv/backups is full; free space and run again');
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
