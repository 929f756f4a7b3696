/**
 * The public contract of Runbook's workflows: their type names, inputs (plain JSON, so the Web UI's
 * start form can send them) and results. Shared by workflows, the client and the CLI; ids are in ./names.
 */

export const WORKFLOW_TYPES = {
  deploy: 'deploy',
  rollback: 'rollback',
  backup: 'backup',
  restore: 'restore',
  /** Lists an app's backup catalogue (read on its host): `{ app }` → CatalogueEntry[]. */
  backups: 'backups',
  job: 'job',
  inspect: 'inspect',
} as const;

export interface DeployInput {
  app: string;
  /** Git branch/tag/commit, a release label for copy sources, or an image tag. */
  ref: string;
  /** Values of the manifest's `params` (e.g. tenantId), used in step templates. */
  params?: Record<string, string>;
  /** Also run the manifest's `seed` steps. */
  seed?: boolean;
  /** Wait for an `approve` signal before switching (also set by the manifest's approval.required). */
  requireApproval?: boolean;
}

export interface RollbackInput {
  app: string;
  /** Release id to go back to; default the newest good release before the current one. */
  to?: string;
}

export interface BackupInput {
  app: string;
  /** One target of the manifest's backups; all targets when omitted. */
  target?: string;
}

export interface RestoreInput {
  app: string;
  /** The backup artifact id (see `runbook backups <app>`); required: restore is never implicit. */
  backup: string;
  /** Restore into a new scratch database (or folder) for inspection; touches nothing else. */
  scratch?: boolean;
}

export interface JobInput {
  app: string;
  job: string;
  /** One date (YYYY-MM-DD); default the run's logical date per the job's defaultDate. */
  date?: string;
  /** A range, inclusive; one activity per date. */
  from?: string;
  to?: string;
  /** The job's mode (e.g. manual = detect only, auto = apply). */
  mode?: string;
  params?: Record<string, string>;
  /** Time zone that turns the logical time into a date (a schedule passes its own); default UTC. */
  timezone?: string;
}

/** Signals of a deploy waiting at its approval gate. */
export const SIGNALS = { approve: 'approve', abort: 'abort' } as const;
