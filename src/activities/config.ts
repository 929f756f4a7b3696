import { DEFAULT_NAMESPACE, DEFAULT_UI_URL } from '../common/constants';
import { manifestsDirFrom } from '../manifest/lookup';

/** What activities need from the worker's environment; read once when the worker starts. */
export interface ActivityConfig {
  /** Folder of app manifests (`<app>.yaml`), RUNBOOK_MANIFESTS, default ./apps. */
  manifestsDir: string;
  /** The worker's environment: where secrets' values live, never copied into workflow data. */
  env: NodeJS.ProcessEnv;
  /** Temporal Web UI base URL, for links in records and notifications. */
  uiUrl: string;
  namespace: string;
  /** Runbook's own audit database (RUNBOOK_DATABASE_URL): job sessions, runs, notifications sent. */
  databaseUrl?: string;
  /** Redis for the notifications-sent ledger when there is no audit database (RUNBOOK_REDIS_URL). */
  redisUrl?: string;
  /** SendGrid API base URL (RUNBOOK_SENDGRID_API_URL), for a regional endpoint or a local stand-in. */
  sendgridApiUrl?: string;
}

export function activityConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ActivityConfig {
  return {
    manifestsDir: manifestsDirFrom(env),
    env,
    uiUrl: env.TEMPORAL_UI_URL ?? DEFAULT_UI_URL,
    namespace: env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE,
    databaseUrl: env.RUNBOOK_DATABASE_URL || undefined,
    redisUrl: env.RUNBOOK_REDIS_URL || undefined,
    sendgridApiUrl: env.RUNBOOK_SENDGRID_API_URL || undefined,
  };
}
