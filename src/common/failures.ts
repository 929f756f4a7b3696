/**
 * Every failure type Runbook raises, what it means, and whether trying again can fix it. Activities and
 * workflows throw them with `failure()`, so a type's retry behaviour is decided here once; the workflows'
 * retry policies take their `nonRetryableErrorTypes` from `NON_RETRYABLE_TYPES`. Pure: workflows import it.
 */
import { ApplicationFailure } from '@temporalio/common';

interface FailureKind {
  /** Whether another attempt of the same activity may succeed. */
  retryable: boolean;
  means: string;
}

export const FAILURES = {
  // Input and configuration: the run asks for something impossible; fix the input or the manifest.
  BadInput: { retryable: false, means: 'the run input is invalid; the message names the field' },
  ManifestNotFound: { retryable: false, means: 'no <app>.yaml in the manifests folder' },
  InvalidManifest: { retryable: false, means: "the app's manifest does not validate" },
  BadManifest: { retryable: false, means: 'the manifest lacks what this step needs' },
  BackupConfig: { retryable: false, means: "the manifest's backups section does not allow this" },
  MissingEnvironment: { retryable: false, means: 'a required environment variable is not set on the host' },
  MissingTool: { retryable: false, means: 'a program Runbook needs is not installed on the host' },
  UnsafeStateDir: { retryable: false, means: "Runbook's state folder on the host is not private to the worker's user" },
  BadDatabaseUrl: { retryable: false, means: 'a database URL variable is unset or malformed' },
  // The host is not as the run needs it: a person has to look.
  MissingDirectory: { retryable: false, means: 'a working directory does not exist' },
  MissingSource: { retryable: false, means: 'the folder or image to deploy from does not exist' },
  MissingSharedFile: { retryable: false, means: 'a shared.files entry exists neither in shared/ nor in the release' },
  MissingArchive: { retryable: false, means: 'the archive an in-place rollback needs is gone' },
  UnknownRef: { retryable: false, means: 'the git ref does not exist in the repository' },
  UnknownRelease: { retryable: false, means: 'no release with that id on the host' },
  ImageBuildFailed: { retryable: false, means: "the release's image did not build (docker build failed)" },
  ComposeMismatch: {
    retryable: false,
    means: "the release's compose file cannot be read, or its services would not run the release's image",
  },
  NotASymlink: { retryable: false, means: '<root>/current exists but is not a symlink Runbook made' },
  BackupNotFound: { retryable: false, means: 'no backup with that id in the catalogue' },
  BackupMissing: { retryable: false, means: "the catalogued backup's file is gone" },
  ChecksumMismatch: { retryable: false, means: "the backup's file does not match its catalogued checksum" },
  OffsiteConfig: { retryable: false, means: "the manifest's backups.offsite settings cannot be used" },
  OffsiteCopyMissing: { retryable: false, means: 'the off-site copy of a backup is gone' },
  DecryptionFailed: { retryable: false, means: 'an encrypted off-site copy could not be decrypted with the key given' },
  BackupUnverified: { retryable: false, means: 'the backup did not pass verification' },
  NoVerifiedBackup: { retryable: false, means: 'a drill found no verified backup of its target to restore' },
  RestoreConflict: { retryable: false, means: 'the restore would overwrite something it must not' },
  VerificationFailed: { retryable: false, means: 'a backup did not read back or restore cleanly' },
  // The app did not come up: the deploy rolls back.
  HealthCheckFailed: { retryable: false, means: 'a health check did not pass within health.within' },
  BakeFailed: { retryable: false, means: 'the release did not stay healthy for health.bake' },
  ServiceExited: { retryable: false, means: 'a process service exited right after it started' },
  ProxySwitchFailed: { retryable: false, means: 'the proxy refused the new upstream; it still sends to the old port' },
  ServiceCommandFailed: { retryable: false, means: 'systemctl, docker compose or a service command failed' },
  NotApproved: { retryable: false, means: 'the deploy was aborted or not approved in time' },
  PauseTimedOut: { retryable: false, means: 'a paused deploy was not resumed within decisionTimeout' },
  DecidedRollback: {
    retryable: false,
    means: 'under onFailure ask, an operator chose to roll back, or nobody decided within decisionTimeout',
  },
  NothingToRollBackTo: { retryable: false, means: 'there is no earlier good release to go back to' },
  AppLocked: { retryable: false, means: 'a deploy, rollback or restore of the app runs; try once it has ended' },
  HostUnreachable: { retryable: false, means: "no worker took the host's work within unreachableAfter" },
  Refused: { retryable: false, means: 'an Update the run is not waiting for now (nothing is kept in history)' },
  // Transient, or retried as the manifest says.
  GitFailed: { retryable: true, means: 'a git command failed (network, lock); retried' },
  ServiceObserveFailed: { retryable: true, means: "reading a service's state (systemctl show) failed; retried" },
  ProxyUnreachable: { retryable: true, means: "the reverse proxy's admin API did not answer; retried" },
  StepFailed: { retryable: true, means: "a step's command failed; retried `retries` times, then final" },
  JobDateFailed: { retryable: true, means: "a job date's command or request failed; retried per the job" },
  NotificationFailed: { retryable: true, means: 'a channel did not accept the message; final when every one refused' },
  // How a run that did not succeed ends (the workflow's own failure, carrying the report as details).
  DeployRolledBack: { retryable: false, means: 'the deploy failed and the previous version was restored' },
  DeployFailed: { retryable: false, means: 'the deploy failed and could not be rolled back fully' },
  DeployUnreachable: { retryable: false, means: 'the deploy did not go through: a host had no worker' },
  BackupUnreachable: { retryable: false, means: 'the backup did not go through: its host had no worker' },
  RestoreUnreachable: { retryable: false, means: 'the restore did not go through: its host had no worker' },
  JobUnreachable: { retryable: false, means: 'the job did not go through: its host had no worker' },
  RollbackFailed: { retryable: false, means: 'the rollback failed' },
  BackupFailed: { retryable: false, means: 'at least one backup target failed' },
  RestoreFailed: { retryable: false, means: 'the restore failed' },
  JobFailed: { retryable: false, means: 'at least one date of the job failed' },
  DrillFailed: { retryable: false, means: 'a restore drill did not prove a backup restores' },
  DrillCheckFailed: { retryable: false, means: "a drill's sanity queries failed on the restored copy" },
  WorkflowBug: { retryable: false, means: "an unexpected error in Runbook's own workflow code ended the run" },
} as const satisfies Record<string, FailureKind>;

export type FailureType = keyof typeof FAILURES;

/** For activity retry policies: failures no other attempt can fix, whoever throws them. */
export const NON_RETRYABLE_TYPES: FailureType[] = (Object.keys(FAILURES) as FailureType[]).filter(
  (type) => !FAILURES[type].retryable,
);

/**
 * A failure of a type from the table; retryable as the table says, unless `final` ends the retries of a
 * retryable type (the last allowed attempt of a step, a refusal by every channel).
 */
export function failure(
  type: FailureType,
  message: string,
  options: { final?: boolean; details?: unknown[] } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !FAILURES[type].retryable || options.final === true,
    details: options.details,
  });
}

export function isFailureOf(error: unknown, type: FailureType): error is ApplicationFailure {
  return error instanceof ApplicationFailure && error.type === type;
}
