import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { JobOperation, JobSession } from '../activities/audit';
import { hostTaskQueue } from '../common/names';
import type { JobInput } from '../common/contracts';
import { dateInZone } from '../common/dates';
import { jobInputSchema } from '../common/workflow-inputs';
import {
  defaultJobDate,
  jobActivityPolicy,
  JobInputError,
  resolveDates,
  resolveMode,
  resolveParams,
} from '../common/job-plan';
import type { RunReport } from '../common/progress';
import { ACTION, APP, OUTCOME } from '../common/search-attributes';
import type { Job, Manifest } from '../manifest/types';
import { isoNow } from './clock';
import { forEachLimited } from './concurrency';
import {
  dateFailureMessage,
  describeFailedDates,
  describeOutcome,
  failedOutcome,
  operationFields,
  summarise,
} from './job-outcomes';
import { logicalTime } from './logical-date';
import { validInput } from './input';
import { notifyQuietly } from './notify';
import { failureMessage, ProgressTracker } from './progress';
import { failOnBug } from './run-guard';
import { failure } from '../common/failures';

const { loadManifest } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3 },
});

const audit = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2 },
});

interface JobPlan {
  job: Job;
  dates: string[];
  logicalDate: string;
  timezone: string;
  mode?: string;
  params: Record<string, string>;
}

/**
 * Runs a manifest job for one date, a range of dates, or the run's logical date (the schedule's time in
 * its time zone), one activity per date on the app's host with at most `concurrency` at once. A failed
 * date does not stop the others; each date's outcome goes to the audit tables as it finishes; the summary
 * goes to the notification channels. Fails (without retrying) when any date failed, with the report as
 * the failure's details.
 */
export async function job(raw: unknown): Promise<RunReport> {
  const input = validInput(jobInputSchema, raw);
  return failOnBug('job', input.app, () => runJob(input));
}

async function runJob(input: JobInput): Promise<RunReport> {
  const info = workflowInfo();
  const startedAt = info.runStartTime.toISOString();
  const manifest = await loadManifest(input.app);
  const plan = planJob(manifest, input);
  const { job, dates, mode } = plan;

  upsertSearchAttributes([
    { key: APP, value: manifest.app },
    { key: ACTION, value: 'job' },
  ]);
  const range = dates.length === 1 ? dates[0] : `${dates[0]}..${dates[dates.length - 1]}`;
  upsertMemo({ summary: `job ${job.name} ${range}${mode ? ` (${mode})` : ''}` });
  const progress = new ProgressTracker('job', manifest.app);
  progress.plan(dates);

  const session: JobSession = {
    workflowId: info.workflowId,
    runId: info.runId,
    app: manifest.app,
    job: job.name,
    mode,
    from: dates[0],
    to: dates[dates.length - 1],
    dates: dates.length,
    params: plan.params,
    startedAt,
  };
  const auditProblems: string[] = [];
  const quietly = async <T>(what: string, write: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await write();
    } catch (error) {
      if (isCancellation(error)) throw error;
      auditProblems.push(`${what}: ${failureMessage(error)}`);
      log.warn('audit record not written; the run goes on', { what, error: failureMessage(error) });
      return undefined;
    }
  };
  const opened = await quietly('session', () => audit.openJobSession(session));
  if (opened?.url) session.url = opened.url;

  const policy = jobActivityPolicy(job);
  const { runJobDate } = proxyActivities<Activities>({
    taskQueue: hostTaskQueue(manifest.hosts[0]),
    startToCloseTimeout: policy.startToCloseTimeoutMs,
    heartbeatTimeout: '10s',
    // A cancelled run waits until the host has stopped the command, so CANCELLED means nothing still runs.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: policy.maximumAttempts, initialInterval: '2s', backoffCoefficient: 2 },
  });

  const operations = new Map<string, JobOperation>();
  try {
    await forEachLimited(dates, job.concurrency, async (date) => {
      const operationStarted = isoNow();
      const request = {
        app: manifest.app,
        job: job.name,
        date,
        from: session.from,
        to: session.to,
        logicalDate: plan.logicalDate,
        mode,
        params: plan.params,
      };
      let operation: JobOperation;
      try {
        const outcome = await progress.run(date, () => runJobDate(request), describeOutcome);
        operation = { ...operationFields(outcome), status: 'OK', startedAt: operationStarted, finishedAt: isoNow() };
      } catch (error) {
        if (isCancellation(error)) throw error;
        const outcome = failedOutcome(error);
        operation = {
          ...(outcome
            ? operationFields(outcome)
            : { date, exitCode: null, attempts: policy.maximumAttempts, stdoutTail: '', stderrTail: '' }),
          status: 'FAILED',
          startedAt: operationStarted,
          finishedAt: isoNow(),
          message: dateFailureMessage(error, job),
        };
      }
      operations.set(date, operation);
      await quietly(`operation ${date}`, () => audit.recordJobOperation({ session, operation }));
    });
  } catch (error) {
    if (!isCancellation(error)) throw error;
    await CancellationScope.nonCancellable(async () => {
      const done = [...operations.values()];
      await quietly('session end', () =>
        audit.closeJobSession({
          session,
          end: {
            status: 'CANCELLED',
            datesOk: done.filter((o) => o.status === 'OK').length,
            datesFailed: done.filter((o) => o.status === 'FAILED').length,
            finishedAt: isoNow(),
          },
        }),
      );
    });
    throw error;
  }

  const results = dates.map((date) => operations.get(date) as JobOperation);
  const failed = results.filter((o) => o.status === 'FAILED');
  const outcome = failed.length > 0 ? 'failed' : 'succeeded';
  const finishedAt = isoNow();
  await quietly('session end', () =>
    audit.closeJobSession({
      session,
      end: {
        status: failed.length > 0 ? 'FAILED' : 'OK',
        datesOk: results.length - failed.length,
        datesFailed: failed.length,
        finishedAt,
      },
    }),
  );

  const report: RunReport = {
    kind: 'job',
    app: manifest.app,
    outcome,
    workflowId: info.workflowId,
    runId: info.runId,
    startedAt,
    finishedAt,
    summary: summarise(range, mode, results),
    steps: progress.list(),
    error: failed.length > 0 ? describeFailedDates(job, results, failed) : undefined,
    details: {
      job: job.name,
      mode: mode ?? null,
      from: session.from,
      to: session.to,
      logicalDate: plan.logicalDate,
      timezone: plan.timezone,
      params: plan.params,
      dates: results.map((o) => ({
        date: o.date,
        status: o.status,
        exitCode: o.exitCode,
        httpStatus: o.httpStatus ?? null,
        durationMs: o.durationMs ?? null,
        attempts: o.attempts,
      })),
      url: session.url ?? null,
      ...(auditProblems.length > 0 ? { auditProblems } : {}),
    },
  };
  await quietly('run', () => audit.recordRunInDatabase(report));
  progress.state = outcome;
  upsertSearchAttributes([{ key: OUTCOME, value: outcome }]);
  upsertMemo({ summary: `job ${job.name} ${report.summary}` });
  await notifyQuietly(report, manifest, failed.length > 0 ? ['job.summary', 'job.failed'] : ['job.summary']);

  if (failed.length > 0) {
    throw failure('JobFailed', report.error ?? report.summary, { details: [report] });
  }
  return report;
}

/** The job, its dates, mode and parameters, or a non-retryable failure naming the input field to fix. */
function planJob(manifest: Manifest, input: JobInput): JobPlan {
  const job = manifest.jobs.find((j) => j.name === input.job);
  if (!job) {
    const known = manifest.jobs.map((j) => j.name).join(', ') || 'none';
    throw failure('BadInput', `job: the app ${manifest.app} has no job '${input.job}'; its jobs: ${known}`);
  }
  const timezone = input.timezone ?? 'UTC';
  try {
    let logicalDay: string;
    try {
      logicalDay = dateInZone(logicalTime(), timezone);
    } catch {
      throw new JobInputError('timezone', `'${timezone}' is not an IANA time zone such as America/Sao_Paulo`);
    }
    const logicalDate = defaultJobDate(logicalDay, job.defaultDate);
    return {
      job,
      dates: resolveDates(input, logicalDate),
      logicalDate,
      timezone,
      mode: resolveMode(job, input.mode),
      params: resolveParams(job, input.params),
    };
  } catch (error) {
    if (error instanceof JobInputError)
      throw failure('BadInput', `the job ${manifest.app}/${job.name} cannot start: ${error.message}`);
    throw error;
  }
}
