import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_NAMES } from './constants';

/** Typed keys of the search attributes on-call filters by in the Web UI (App="almareia" AND Outcome="rolled_back"). */
export const APP = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.app, SearchAttributeType.KEYWORD);
export const REF = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.ref, SearchAttributeType.KEYWORD);
export const OUTCOME = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.outcome, SearchAttributeType.KEYWORD);
export const ACTION = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.action, SearchAttributeType.KEYWORD);

/** Every search attribute Runbook sets: a namespace must have them registered (as Keyword) before a run starts. */
export const RUNBOOK_SEARCH_ATTRIBUTES = [APP, REF, OUTCOME, ACTION];
