import { reportProgress, throwIfCancelled } from './attempt';
import { checkLabel } from '../common/labels';
import type { Check, Manifest } from '../manifest/types';
import { logOffsets, runCheckOnce, type CheckContext } from './checks';
import type { ActivityConfig } from './config';
import { appEnvironment, commandEnvironment, secretValues } from './environment';
import { failure } from '../common/failures';

export interface CheckRequest {
  manifest: Manifest;
  check: Check;
  /** Keep trying until this long has passed; 0 = one attempt. */
  withinMs: number;
  intervalMs: number;
  logOffsets?: Record<string, number>;
}

/** What the checks of an app need on this host: where `…Env` names resolve, what commands get, what to redact. */
export function checkContext(
  config: ActivityConfig,
  manifest: Manifest,
  logOffsets: Record<string, number>,
): CheckContext {
  return {
    manifest,
    env: appEnvironment(manifest, config.env),
    commandEnv: commandEnvironment(manifest, config.env),
    logOffsets,
    redact: secretValues(manifest, config.env),
  };
}

export function healthActivities(config: ActivityConfig) {
  return {
    /**
     * One health (or dependency) check, tried every interval until it passes or the time is up. A check
     * that never passes fails without retry, with its last answer: what on-call reads in the UI.
     */
    async checkHealth(request: CheckRequest): Promise<string> {
      const context = checkContext(config, request.manifest, { ...request.logOffsets });
      const deadline = Date.now() + request.withinMs;
      let attempts = 0;
      for (;;) {
        attempts += 1;
        const outcome = await runCheckOnce(request.check, context);
        reportProgress({ attempts, detail: outcome.detail });
        if (outcome.ok) return outcome.detail;
        if (Date.now() + request.intervalMs > deadline) {
          throw failure(
            'HealthCheckFailed',
            `${checkLabel(request.check)} failed after ${attempts} attempt(s): ${outcome.detail}`,
          );
        }
        await new Promise((r) => setTimeout(r, request.intervalMs));
        throwIfCancelled();
      }
    },

    /** Sizes of the log files the health checks read, so they judge only what the new start writes. */
    async captureLogOffsets(request: { manifest: Manifest }): Promise<Record<string, number>> {
      return logOffsets(request.manifest, request.manifest.health.checks);
    },
  };
}
