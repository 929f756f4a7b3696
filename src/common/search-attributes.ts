import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from './constants';

/** Typed keys of the search attributes on-call filters by in the Web UI (App="almareia" AND Outcome="rolled_back"). */
export const APP = defineSearchAttributeKey(SEARCH_ATTRIBUTES.app, SearchAttributeType.KEYWORD);
export const REF = defineSearchAttributeKey(SEARCH_ATTRIBUTES.ref, SearchAttributeType.KEYWORD);
export const OUTCOME = defineSearchAttributeKey(SEARCH_ATTRIBUTES.outcome, SearchAttributeType.KEYWORD);
export const ACTION = defineSearchAttributeKey(SEARCH_ATTRIBUTES.action, SearchAttributeType.KEYWORD);
