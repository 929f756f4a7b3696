import type { Manifest, Service } from '../../manifest/types';

/** What a service manager needs to act on one app's services on this host. */
export interface ServiceContext {
  manifest: Manifest;
  /** The app's environment on this host (worker env + env file). */
  env: NodeJS.ProcessEnv;
  /** The folder the services run from (a release directory, or the in-place root). */
  dir: string;
  /** The release being started: its id and the ref (git ref or image tag) it was built from. */
  release?: string;
  ref?: string;
  redact: string[];
  /**
   * Runbook's file of the app's environment for its services (env.file's values and required names), when
   * there is one: systemd units read it through a drop-in, Compose through --env-file.
   */
  envFile?: string;
}

/** One look at a running service, for the bake: alive, the same run as before, and what it uses. */
export interface ServiceObservation {
  running: boolean;
  /** Names this run of the service; another value later means it restarted (pid and start time, MainPID and NRestarts). */
  instance?: string;
  /** The instance as on-call reads it: "pid 1234", "MainPID 1234, 0 restarts". */
  describe?: string;
  /** Memory all its processes use now. */
  memoryBytes?: number;
  /** CPU time used so far by its processes: a share of a core comes from two observations. */
  cpuSeconds?: number;
}

export interface ServiceManager<S extends Service = Service> {
  /** Starts the service; idempotent: a service already running from `dir` is left alone. */
  start(service: S, context: ServiceContext): Promise<string>;
  /** Stops the service; idempotent: stopping a stopped service succeeds. */
  stop(service: S, context: ServiceContext): Promise<string>;
  isRunning(service: S, context: ServiceContext): Promise<boolean>;
  /** What the bake watches; managers that can only tell running or not leave it out. */
  observe?(service: S, context: ServiceContext): Promise<ServiceObservation>;
}
