import { workflowInfo } from '@temporalio/workflow';
import type { RunReport } from '../common/progress';
import { isoNow } from './clock';
import { resetStableIds, runKey } from './ids';
import type { ProgressTracker } from './progress';

/** What a workflow says about its run; the rest of the report comes from the run itself. */
export type ReportFacts = Omit<
  RunReport,
  'kind' | 'app' | 'workflowId' | 'runId' | 'startedAt' | 'finishedAt' | 'steps'
>;

/** The report of a run ending now: who it is (ids, times) and its steps come from the run itself. */
export function runReport(progress: ProgressTracker, facts: ReportFacts): RunReport {
  const info = workflowInfo();
  const { outcome, summary, ...rest } = facts;
  // Outcome and summary first: the Web UI's result panel shows the top of the report.
  return {
    kind: progress.kind,
    app: progress.app,
    outcome,
    workflowId: info.workflowId,
    runId: info.runId,
    ...(resetStableIds() ? { originalRunId: runKey() } : {}),
    startedAt: info.runStartTime.toISOString(),
    finishedAt: isoNow(),
    summary,
    steps: progress.list(),
    ...rest,
  };
}
