import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed keys of the search attributes on-call filters by in the Web UI (App="almareia" AND Outcome="rolled_back"). */
export const APP = defineSearchAttributeKey('App', SearchAttributeType.KEYWORD);
export const REF = defineSearchAttributeKey('Ref', SearchAttributeType.KEYWORD);
export const OUTCOME = defineSearchAttributeKey('Outcome', SearchAttributeType.KEYWORD);
export const ACTION = defineSearchAttributeKey('Action', SearchAttributeType.KEYWORD);

/** Every search attribute Runbook sets: a namespace must have them registered (as Keyword) before a run starts. */
export const RUNBOOK_SEARCH_ATTRIBUTES = [APP, REF, OUTCOME, ACTION];
