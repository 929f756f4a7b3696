import { activityInfo, Context } from '@temporalio/activity';
import { formatDuration } from '../common/duration';
import { failure } from '../common/failures';
import { checkLabel } from '../common/labels';
import { formatBytes, parseBytes, parsePercent } from '../common/units';
import type { Manifest, Service } from '../manifest/types';
import { progressDetails, reportProgress } from './attempt';
import { runCheckOnce } from './checks';
import type { ActivityConfig } from './config';
import { checkContext } from './health';
import { contextFor, observeService } from './services';
import type { ServiceObservation } from './services/types';

export interface BakeRequest {
  manifest: Manifest;
  /** When the bake ends (ISO): fixed by the workflow, so a retried attempt keeps the same window. */
  until: string;
  intervalMs: number;
  /** Sizes of the log files before the start: log checks judge everything written since. */
  logOffsets: Record<string, number>;
}

export interface BakeResult {
  rounds: number;
  summary: string;
}

/** What an attempt heartbeats, and a retried attempt (a worker died) takes up again. */
export interface BakeState {
  /** Each service's instance when the bake began: another one later is a restart. */
  baseline: Record<string, { instance?: string; describe?: string }>;
  rounds: number;
  peaks: Record<string, { memoryBytes?: number; cpuPercent?: number }>;
  remaining: string;
  last: string;
  /** Where each log check's next look starts: a retried attempt reads on from there (absent before it was kept). */
  logOffsets?: Record<string, number>;
}

export function bakeActivities(config: ActivityConfig) {
  return {
    /**
     * Watches a started release until `until`, one round every interval: every health check once (log checks
     * over everything written since the start), each service still running as the same instance (no
     * restart), and within its memory and CPU limits. The first round that finds a problem fails the bake,
     * non-retryably, naming it. One activity for the whole window keeps the run's history small; the
     * Web UI shows its heartbeat (rounds, time left, last result) while it runs.
     */
    async bake(request: BakeRequest): Promise<BakeResult> {
      const { manifest } = request;
      const context = Context.current();
      const until = Date.parse(request.until);
      const resumed = activityInfo().heartbeatDetails as BakeState | undefined;
      const checks = checkContext(config, manifest, { ...request.logOffsets, ...resumed?.logOffsets });
      const services = contextFor(config, { manifest });
      const observeAll = async () => {
        const seen = new Map<Service, ServiceObservation>();
        for (const service of manifest.services) seen.set(service, await observeService(service, services));
        return { at: Date.now(), seen };
      };

      // The worker heartbeats on a timer (src/workers/attempts.ts) with what this reports; a retried attempt
      // (its worker died) takes the state up again from the last heartbeat: same baseline, same window.
      if (resumed) reportProgress({ ...resumed });
      let previous = await observeAll();
      const state: BakeState = resumed ?? {
        baseline: Object.fromEntries(
          [...previous.seen].map(([s, o]) => [s.name, { instance: o.instance, describe: o.describe }]),
        ),
        rounds: 0,
        peaks: {},
        remaining: '',
        last: 'starting',
      };
      state.logOffsets = checks.logOffsets;
      reportProgress(() => ({ ...structuredClone(state), remaining: formatDuration(Math.max(0, until - Date.now())) }));
      const beat = () => context.heartbeat(progressDetails(context));
      for (;;) {
        const roundStart = Date.now();
        const failedChecks: string[] = [];
        for (const check of manifest.health.checks) {
          const outcome = await runCheckOnce(check, checks);
          if (!outcome.ok) failedChecks.push(`${checkLabel(check)}: ${outcome.detail}`);
        }
        // Services are looked at after the checks, so a check failing because a process died is named with
        // the death, not only as a failed request.
        const problems: string[] = [];
        const now = await observeAll();
        for (const service of manifest.services)
          problems.push(...serviceProblems(service, state, previous, now, now.seen.get(service)!));
        // CPU time moves in clock ticks (10 ms): over a shorter window one tick reads as a burst of 100%s.
        if (now.at - previous.at >= CPU_WINDOW_MS) previous = now;
        problems.push(...failedChecks);
        state.rounds += 1;
        const left = until - Date.now();
        if (problems.length > 0) {
          state.last = problems.join('; ');
          beat();
          throw failure(
            'BakeFailed',
            `bake failed with ${formatDuration(Math.max(0, left))} to go (round ${state.rounds}): ${state.last}`,
          );
        }
        state.last = 'healthy';
        beat();
        if (left <= 0) return { rounds: state.rounds, summary: bakeSummary(manifest, state) };
        await context.sleep(Math.max(0, Math.min(left, request.intervalMs - (Date.now() - roundStart))));
      }
    },
  };
}

/** The shortest window a CPU percentage is judged over. */
const CPU_WINDOW_MS = 1000;

/** What is wrong with one service now: gone, restarted, or over a limit. Records its peaks on the way. */
export function serviceProblems(
  service: Service,
  state: BakeState,
  previous: { at: number; seen: Map<Service, ServiceObservation> },
  now: { at: number },
  seen: ServiceObservation,
): string[] {
  const was = state.baseline[service.name];
  if (!seen.running) return [`${service.name} is not running any more${was?.describe ? ` (was ${was.describe})` : ''}`];
  if (was?.instance && seen.instance && seen.instance !== was.instance)
    return [`${service.name} restarted (${was.describe} → ${seen.describe})`];
  const problems: string[] = [];
  const peak = (state.peaks[service.name] ??= {});
  const limits = 'limits' in service ? service.limits : undefined;
  if (seen.memoryBytes !== undefined) {
    peak.memoryBytes = Math.max(peak.memoryBytes ?? 0, seen.memoryBytes);
    const limit = limits?.memory ? parseBytes(limits.memory) : undefined;
    if (limit !== undefined && seen.memoryBytes > limit)
      problems.push(
        `${service.name} uses ${formatBytes(seen.memoryBytes)} of memory, over its limit ${limits?.memory}`,
      );
  }
  const before = previous.seen.get(service);
  if (seen.cpuSeconds !== undefined && before?.cpuSeconds !== undefined && before.instance === seen.instance) {
    const wall = (now.at - previous.at) / 1000;
    if (wall * 1000 >= CPU_WINDOW_MS) {
      const percent = Math.round(((seen.cpuSeconds - before.cpuSeconds) / wall) * 100);
      peak.cpuPercent = Math.max(peak.cpuPercent ?? 0, percent);
      const limit = limits?.cpu ? parsePercent(limits.cpu) : undefined;
      if (limit !== undefined && percent > limit)
        problems.push(
          `${service.name} used ${percent}% CPU over the last ${wall.toFixed(1)}s, over its limit ${limits?.cpu}`,
        );
    }
  }
  return problems;
}

function bakeSummary(manifest: Manifest, state: BakeState): string {
  const peaks = Object.entries(state.peaks)
    .map(([name, p]) =>
      [
        p.memoryBytes !== undefined ? `${name} peak ${formatBytes(p.memoryBytes)}` : undefined,
        p.cpuPercent !== undefined ? `${p.cpuPercent}% CPU` : undefined,
      ]
        .filter(Boolean)
        .join(', '),
    )
    .filter(Boolean);
  return (
    `healthy for ${state.rounds} round(s): ${manifest.health.checks.length} check(s), ` +
    `${manifest.services.length} service(s) running without a restart${peaks.length ? `; ${peaks.join('; ')}` : ''}`
  );
}
