import { DefaultLogger, Runtime } from '@temporalio/worker';
import { UsageError } from '../client/errors';
import { RUN_DURATION_BUCKETS_SECONDS } from '../activities/metrics';

export const METRICS_VARIABLE = 'RUNBOOK_METRICS_ADDRESS';

/** `host:port` to serve Prometheus metrics on, checked; undefined: no endpoint. */
export function metricsAddressFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[METRICS_VARIABLE]?.trim();
  if (!value) return undefined;
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65_535)
    throw new UsageError(`${METRICS_VARIABLE}=${value}: expected host:port`, `e.g. ${METRICS_VARIABLE}=0.0.0.0:9464`);
  return value;
}

/**
 * Installs the process's SDK runtime (once, before any connection) with a Prometheus endpoint at `address`,
 * serving the SDK's metrics (temporal_*) and Runbook's (runbook_*, from the same meter) at /metrics.
 */
export function installMetricsRuntime(address: string): string {
  Runtime.install({
    logger: new DefaultLogger('INFO'),
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress: address,
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          histogramBucketOverrides: { runbook_run_duration_seconds: RUN_DURATION_BUCKETS_SECONDS },
        },
      },
    },
  });
  return `http://${address}/metrics`;
}
