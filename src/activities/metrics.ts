/**
 * Runbook's own metrics, through the SDK's metric meter so that the worker's one Prometheus endpoint serves them
 * beside the SDK's (docs/metrics.md lists both). Everything is derived from a finished run's report, recorded by
 * the orchestration activity every workflow calls at its end (recordRunInDatabase), once per run and process.
 */
import { noopMetricMeter, type MetricMeter } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { RunReport } from '../common/progress';

export const RUN_DURATION_BUCKETS_SECONDS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

interface Instruments {
  runs: ReturnType<MetricMeter['createCounter']>;
  duration: ReturnType<MetricMeter['createHistogram']>;
  backupBytes: ReturnType<MetricMeter['createGauge']>;
  backupTime: ReturnType<MetricMeter['createGauge']>;
  jobDates: ReturnType<MetricMeter['createCounter']>;
  missedSchedules: ReturnType<MetricMeter['createCounter']>;
}

const instruments = new WeakMap<MetricMeter, Instruments>();

function instrumentsOf(meter: MetricMeter): Instruments {
  let found = instruments.get(meter);
  if (!found) {
    found = {
      runs: meter.createCounter('runbook_runs', 'runs', 'Finished runs by kind, app and outcome'),
      duration: meter.createHistogram(
        'runbook_run_duration_seconds',
        'float',
        's',
        'Run durations (deploy, rollback, backup, restore, job) by kind, app and outcome',
      ),
      backupBytes: meter.createGauge(
        'runbook_backup_size_bytes',
        'int',
        'bytes',
        'Size of the last verified backup of each target',
      ),
      backupTime: meter.createGauge(
        'runbook_backup_last_success_timestamp_seconds',
        'float',
        's',
        'When the last verified backup of each target finished (age: time() - this)',
      ),
      jobDates: meter.createCounter(
        'runbook_job_dates',
        'dates',
        'Job dates processed, by job and status (ok, failed)',
      ),
      missedSchedules: meter.createCounter(
        'runbook_schedule_missed',
        'runs',
        'Scheduled slots without a successful run by their deadline (one per missed-run alert), by schedule and reason',
      ),
    };
    instruments.set(meter, found);
  }
  return found;
}

const recorded = new Set<string>();
const RECORDED_LIMIT = 10_000;

/** Records a finished run: a retry of the recording activity in the same process does not count it twice. */
export function recordRunMetrics(meter: MetricMeter, report: RunReport): void {
  const key = `${report.workflowId}/${report.runId}/${report.kind}`;
  if (recorded.has(key)) return;
  if (recorded.size >= RECORDED_LIMIT) recorded.clear();
  recorded.add(key);
  const m = instrumentsOf(meter);
  const tags = { kind: report.kind, app: report.app, outcome: report.outcome };
  m.runs.add(1, tags);
  const seconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  if (Number.isFinite(seconds) && seconds >= 0) m.duration.record(seconds, tags);
  if (report.kind === 'backup') recordBackups(m, report);
  if (report.kind === 'job') recordJobDates(m, report);
}

function recordBackups(m: Instruments, report: RunReport): void {
  const artifacts = (report.details?.artifacts ?? []) as Array<{ target?: string; bytes?: number; verified?: boolean }>;
  const finished = Date.parse(report.finishedAt) / 1000;
  for (const artifact of artifacts) {
    if (!artifact.verified || !artifact.target) continue;
    const tags = { app: report.app, target: artifact.target };
    if (typeof artifact.bytes === 'number') m.backupBytes.set(artifact.bytes, tags);
    m.backupTime.set(finished, tags);
  }
}

function recordJobDates(m: Instruments, report: RunReport): void {
  const job = String(report.details?.job ?? '');
  const dates = (report.details?.dates ?? []) as Array<{ status?: string }>;
  for (const status of ['OK', 'FAILED']) {
    const count = dates.filter((d) => d.status === status).length;
    if (count > 0) m.jobDates.add(count, { app: report.app, job, status: status.toLowerCase() });
  }
}

/**
 * A scheduled slot without a successful run by its deadline (the watcher's recordMissedSchedule activity calls
 * this once per alert): `runbook_schedule_missed_total{app, schedule, reason}`.
 */
export function recordMissedSchedule(
  meter: MetricMeter,
  missed: { app: string; schedule: string; reason: string },
  count = 1,
): void {
  instrumentsOf(meter).missedSchedules.add(count, missed);
}

/**
 * The worker process's meter (its Prometheus endpoint when RUNBOOK_METRICS_ADDRESS is set; a no-op otherwise).
 * Without a runtime (an activity called outside a worker, or after its worker stopped) there is nothing to count
 * on: `Runtime.instance()` would start one that nothing shuts down, and that holds the process open at exit.
 */
export function workerMeter(): MetricMeter {
  return Runtime._instance?.metricMeter ?? noopMetricMeter;
}
