/**
 * How long each kind of activity may run and how it is retried, as one table of named groups (the
 * samples' saga style): every activity call names its group, and a deploy plan's steps carry theirs. Pure:
 * workflows import it.
 */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/common';
import { NON_RETRYABLE_TYPES } from './failures';

/** What every group shares: failures the table calls final are never retried, whoever throws them. */
const retry = (policy: NonNullable<ActivityOptions['retry']>) => ({
  ...policy,
  nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
});

/**
 * Every activity heartbeats on a timer for its whole run (the worker's attempt interceptor), so every group
 * has a heartbeat timeout: an attempt on a worker that died is retried within seconds, not minutes.
 */
export const ACTIVITY_HEARTBEAT_TIMEOUT = '10s';

const hostRetry = retry({ initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 20 });
// A killed worker is noticed within seconds and the activity retried on the next one.
const host = { startToCloseTimeout: '10m', heartbeatTimeout: '5s', retry: hostRetry } satisfies ActivityOptions;

/**
 * How long each kind of activity may run and how it is retried: one named group per kind of work. A
 * workflow names the group; a host's groups run on that host's task queue.
 */
export const ACTIVITY_OPTIONS = {
  /** Quick work on the workflow's own queue: load a manifest, write run and job records. */
  orchestration: {
    startToCloseTimeout: '1m',
    heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
    retry: retry({ initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 }),
  },
  /** Bounded: a channel that is down costs the run about half a minute of retries, never its outcome. */
  notify: {
    startToCloseTimeout: '2m',
    heartbeatTimeout: '5s',
    retry: retry({ maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' }),
  },
  /** A host's quick operations: services, releases, the current link, log offsets, the deploy log. */
  host,
  /** A manifest step's command (its own `timeout` replaces this). */
  step: { ...host, startToCloseTimeout: '2h' },
  /** Building a release from git, the staging folder or an image. */
  release: { ...host, startToCloseTimeout: '1h' },
  /** Building a release's image (docker build): heartbeats while the build runs. */
  image: { ...host, startToCloseTimeout: '2h', heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT },
  /** Archiving, copying and restoring an app's folder. */
  files: { ...host, startToCloseTimeout: '1h', heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT },
  /** A deploy's database snapshot and its restore. */
  database: { ...host, startToCloseTimeout: '2h', heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT },
  /** A dependency checked before anything changes. */
  dependency: { ...host, heartbeatTimeout: '20s' },
  /** A health check, retried inside the activity until it passes or `health.within` ends. */
  health: { ...host, heartbeatTimeout: '20s', retry: { ...hostRetry, maximumAttempts: 3 } },
  /**
   * Watching a release for `health.bake` (one heartbeating attempt per host; the deploy sets the timeout from
   * the window).
   */
  bake: { ...host, heartbeatTimeout: '30s', retry: retry({ maximumAttempts: 5 }) },
  /** Creating or restoring a backup artifact: dumps and archives bigger than any timeout but this one. */
  artifact: {
    startToCloseTimeout: '12h',
    heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
    retry: retry({ maximumAttempts: 3, initialInterval: '2s', backoffCoefficient: 2 }),
  },
  /** Checking, cataloguing and pruning backup artifacts. */
  catalogue: {
    startToCloseTimeout: '2h',
    heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
    retry: retry({ maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2 }),
  },
  /**
   * One date of a job; its timeout and attempts come from the job. A cancelled run waits until the host has
   * stopped the command, so CANCELLED means nothing still runs.
   */
  jobDate: {
    startToCloseTimeout: '1h',
    heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: retry({ initialInterval: '2s', backoffCoefficient: 2 }),
  },
} satisfies Record<string, ActivityOptions>;

/** The name of one group of activity options: what a plan's step, and every activity call, names. */
export type OptionGroup = keyof typeof ACTIVITY_OPTIONS;

/** Groups of work done on an app's server: they run on the host's own task queue. */
export const ON_HOST: ReadonlySet<OptionGroup> = new Set<OptionGroup>([
  'host',
  'step',
  'release',
  'files',
  'database',
  'dependency',
  'health',
  'bake',
  'artifact',
  'catalogue',
  'jobDate',
]);
