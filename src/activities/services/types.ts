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

export interface ServiceManager<S extends Service = Service> {
  /** Starts the service; idempotent: a service already running from `dir` is left alone. */
  start(service: S, context: ServiceContext): Promise<string>;
  /** Stops the service; idempotent: stopping a stopped service succeeds. */
  stop(service: S, context: ServiceContext): Promise<string>;
  isRunning(service: S, context: ServiceContext): Promise<boolean>;
}
