import type { Check, Step } from '../manifest/types';

/** The manifest's lists of steps, in the order a deploy runs them. */
export const STEP_PHASES = ['preflight', 'install', 'migrate', 'build', 'seed'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

/** How a check reads in the Web UI and in messages: "health http://127.0.0.1:5000/login". */
export function checkLabel(check: Check): string {
  const what =
    'http' in check
      ? check.http
      : 'tcp' in check
        ? `tcp ${check.tcp}`
        : 'postgres' in check
          ? `postgres $${check.postgres.urlEnv}`
          : 'redis' in check
            ? `redis $${check.redis.urlEnv}`
            : 'heartbeat' in check
              ? `heartbeat ${check.heartbeat.key}`
              : 'logs' in check
                ? `logs ${check.logs} free of ${check.deny.join(', ')}`
                : `command ${Array.isArray(check.command) ? check.command.join(' ') : check.command}`;
  return check.name ? `${check.name} (${what})` : what;
}

/** A step as the runbook names it: its `name`, or its command. */
export function stepLabel(step: Step): string {
  return step.name ?? (Array.isArray(step.run) ? step.run.join(' ') : step.run);
}
