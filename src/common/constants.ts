/** Names shared by workers, workflows and the client. Pure values only: workflows import this file. */

/**
 * Workflows run here by default; any worker may take them. Orchestration activities (manifest, records,
 * notifications) run on the queue of the workflow that calls them, so a separate queue isolates a setup.
 */
export const ORCHESTRATION_TASK_QUEUE = 'runbook';

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_UI_URL = 'http://localhost:8233';

/**
 * The search attributes' names, as visibility queries spell them. Their typed keys are in
 * `search-attributes.ts`, which loads the Temporal SDK; what builds a query text only (the CLI's `history`,
 * loaded for its help) takes the names from here.
 */
export const SEARCH_ATTRIBUTE_NAMES = { app: 'App', ref: 'Ref', outcome: 'Outcome', action: 'Action' } as const;
