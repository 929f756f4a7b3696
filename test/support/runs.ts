import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { RunReport } from '../../src/common/progress';

export interface RunOutcome {
  report: RunReport;
  failure?: WorkflowFailedError;
}

/** The report of a finished run, from its result or, when it failed, from its failure's details. */
export async function runOutcome(client: Client, workflowId: string, runId?: string): Promise<RunOutcome> {
  try {
    return { report: (await client.workflow.getHandle(workflowId, runId).result()) as RunReport };
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const cause = error.cause as { details?: unknown[] } | undefined;
    return { report: cause?.details?.[0] as RunReport, failure: error };
  }
}
