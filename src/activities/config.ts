import path from 'node:path';

/** What activities need from the worker's environment; read once when the worker starts. */
export interface ActivityConfig {
  /** Folder of app manifests (`<app>.yaml`), RUNBOOK_MANIFESTS, default ./apps. */
  manifestsDir: string;
  /** The worker's environment: where secrets' values live, never copied into workflow data. */
  env: NodeJS.ProcessEnv;
  /** Temporal Web UI base URL, for links in records and notifications. */
  uiUrl: string;
  namespace: string;
}

export function activityConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ActivityConfig {
  return {
    manifestsDir: path.resolve(env.RUNBOOK_MANIFESTS ?? 'apps'),
    env,
    uiUrl: env.TEMPORAL_UI_URL ?? 'http://localhost:8233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
  };
}
