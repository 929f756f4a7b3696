/** Names shared by workers, workflows and the client. Pure values only: workflows import this file. */

/**
 * Workflows run here by default; any worker may take them. Orchestration activities (manifest, records,
 * notifications) run on the queue of the workflow that calls them, so a separate queue isolates a setup.
 */
export const ORCHESTRATION_TASK_QUEUE = 'runbook';

/** Activities that touch an app's server run on that host's own queue, polled by the worker on that host. */
export function hostTaskQueue(host: string): string {
  return `runbook-host-${host}`;
}

export const SEARCH_ATTRIBUTES = {
  app: 'App',
  ref: 'Ref',
  outcome: 'Outcome',
  action: 'Action',
} as const;

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_UI_URL = 'http://localhost:8233';
