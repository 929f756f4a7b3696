import { upsertSearchAttributes } from '@temporalio/workflow';
import type { Outcome } from '../common/progress';
import { ACTION, APP, OUTCOME } from '../common/search-attributes';

/** Lets on-call filter runs in the Web UI: App = "financial-etl" AND Action = "job". */
export function tagRun(app: string, action: string): void {
  upsertSearchAttributes([
    { key: APP, value: app },
    { key: ACTION, value: action },
  ]);
}

export function tagOutcome(outcome: Outcome): void {
  upsertSearchAttributes([{ key: OUTCOME, value: outcome }]);
}
