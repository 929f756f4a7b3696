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
  /** Lists an app's releases on its first host: `{ app }` → the releases view. */
  releases: 'releases',
  /** Holds an app's lock for a restore; started by workflows only. */
  appLock: 'appLock',
  /** Watches an app's schedules and backups and alerts on missed runs: `{ app }`, one per app, long-running. */
  watch: 'watch',
  /** Restores the newest backup of a target into a throwaway copy and records the evidence. */
  drill: 'drill',
} as const satisfies { [K in WorkflowName]: K };

/** Every workflow type the workers register (src/workflows/index.ts): the table above must name each. */
type WorkflowName = keyof typeof import('../workflows');

// The inputs' shapes are their schemas' (src/common/workflow-inputs.ts): deploy {app, ref, params?, seed?,
// requireApproval?, onFailure?}, rollback {app, to?}, backup {app, target?}, restore {app, backup, scratch?}, job {app,
// job, date? | from?+to?, mode?, params?, timezone?}.
// drill {app, target?}; watch {app, every?, since?, looksPerRun?, state?}.
export type { BackupInput, DeployInput, DrillInput, JobInput, RestoreInput, RollbackInput } from './workflow-inputs';

/**
 * Signals of a deploy waiting at its approval gate, as released before the gate took Updates. Still handled:
 * runs started by older code and older clients send them; they act only at the gate (see UPDATES).
 */
export const SIGNALS = { approve: 'approve', abort: 'abort' } as const;

/**
 * What an operator can tell a running deploy, as Temporal Updates (also from the Web UI's Send Update). Each
 * is refused (validator) unless the run waits for it now, and returns what happened.
 */
export const UPDATES = {
  /** At the approval gate: go on and switch. */
  approve: 'approve',
  /** At the approval gate: do not switch; undo what was done. Input: an optional reason. */
  abort: 'abort',
  /** A step failed and the deploy waits for a decision (onFailure: ask): run it again, after fixing the host. */
  retry: 'retry',
  /** …: go on without it (only steps the manifest marks skippable). */
  skip: 'skip',
  /** …: undo what was done now, as without ask. */
  rollbackNow: 'rollback-now',
  /** Stop before the next step until resumed (at most decisionTimeout; then it rolls back). */
  pause: 'pause',
  resume: 'resume',
} as const;
export type UpdateName = keyof typeof UPDATES;

/** What an accepted Update did, in words an operator reads in the CLI or the Web UI. */
export interface UpdateOutcome {
  update: string;
  /** The step the run waited at. */
  step: string;
  message: string;
}
