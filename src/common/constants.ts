/** Names shared by workers, workflows and the client. Pure values only: workflows import this file. */

/**
 * Workflows run here by default; any worker may take them. Orchestration activities (manifest, records,
 * notifications) run on the queue of the workflow that calls them, so a separate queue isolates a setup.
 */
export const ORCHESTRATION_TASK_QUEUE = 'runbook';

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_UI_URL = 'http://localhost:8233';
