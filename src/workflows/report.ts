import { workflowInfo } from '@temporalio/workflow';
import type { RunReport } from '../common/progress';
import { isoNow } from './clock';
import type { ProgressTracker } from './progress';

type ReportFacts = Omit<RunReport, 'kind' | 'app' | 'workflowId' | 'runId' | 'startedAt' | 'finishedAt' | 'steps'>;

/** The report of a run ending now: who it is (ids, times) and its steps come from the run itself. */
export function runReport(progress: ProgressTracker, facts: ReportFacts): RunReport {
  const info = workflowInfo();
  return {
    kind: progress.kind,
    app: progress.app,
    workflowId: info.workflowId,
    runId: info.runId,
    startedAt: info.runStartTime.toISOString(),
    finishedAt: isoNow(),
    steps: progress.list(),
    ...facts,
  };
}
