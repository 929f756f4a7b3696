import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../common/constants';
import type { Outcome } from '../common/progress';

const APP = defineSearchAttributeKey(SEARCH_ATTRIBUTES.app, SearchAttributeType.KEYWORD);
const ACTION = defineSearchAttributeKey(SEARCH_ATTRIBUTES.action, SearchAttributeType.KEYWORD);
const OUTCOME = defineSearchAttributeKey(SEARCH_ATTRIBUTES.outcome, SearchAttributeType.KEYWORD);

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
