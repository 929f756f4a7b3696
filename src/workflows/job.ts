import { CancellationScope, isCancellation, log, patched, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { JobOperation, JobSession } from '../activities/audit';
import type { JobInput } from '../common/contracts';
import { dateInZone } from '../common/dates';
import { failure } from '../common/failures';
import {
  defaultJobDate,
  jobActivityPolicy,
  JobInputError,
  resolveDates,
  resolveMode,
  resolveParams,
} from '../common/job-plan';
import type { RunReport } from '../common/progress';
import { jobInputSchema } from '../common/workflow-inputs';
import type { Job, Manifest } from '../manifest/types';
import { activitiesFor, endsAsUnreachable, endingOutcome } from './activities';
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
import { resetStableIds, runKey } from './ids';
import { validInput } from './input';
import { logicalTime } from './logical-date';
import { failureMessage } from './progress';
import { beginRun, endRun, loadManifest, tagReleasedRun } from './run';
import { failOnBug } from './run-guard';

const audit = activitiesFor('orchestration');

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
  const run = beginRun('job', input.app);
  const progress = run.progress;
  const manifest = await loadManifest(run, { asStep: false });
  const plan = planJob(manifest, input);
  const { job, dates, mode } = plan;
  tagReleasedRun(run);
  const range = dates.length === 1 ? dates[0] : `${dates[0]}..${dates[dates.length - 1]}`;
  upsertMemo({ summary: `job ${job.name} ${range}${mode ? ` (${mode})` : ''}` });
  // range: whole — one call covers every date ({{from}}..{{to}}); otherwise one call per date
  const calls = job.range === 'whole' ? [{ name: range, date: dates[0] }] : dates.map((d) => ({ name: d, date: d }));
  progress.plan(calls.map((c) => c.name));

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
  // Since UNREACHABLE_OUTCOME, the run ends as unreachable when the host had no worker.
  const unreachableAware = endsAsUnreachable();
  const { runJobDate } = activitiesFor(
    'jobDate',
    { manifest, host: manifest.hosts[0] },
    {
      startToCloseTimeout: policy.startToCloseTimeoutMs,
      retry: { maximumAttempts: policy.maximumAttempts },
    },
  );

  // Names on the host (done markers, pid files, HTTP idempotency keys) by the run id a reset keeps.
  const hostRunKey = resetStableIds() ? runKey() : undefined;
  const operations = new Map<string, JobOperation>();
  try {
    await forEachLimited(calls, job.concurrency, async ({ name, date }) => {
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
        ...(hostRunKey ? { runKey: hostRunKey } : {}),
      };
      let operation: JobOperation;
      try {
        const outcome = await progress.run(name, () => runJobDate(request), describeOutcome);
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
      operations.set(name, operation);
      await quietly(`operation ${name}`, () => audit.recordJobOperation({ session, operation }));
    });
  } catch (error) {
    if (!isCancellation(error)) throw error;
    const done = [...operations.values()];
    await CancellationScope.nonCancellable(() =>
      quietly('session end', () =>
        audit.closeJobSession({
          session,
          end: {
            status: 'CANCELLED',
            datesOk: done.filter((o) => o.status === 'OK').length,
            datesFailed: done.filter((o) => o.status === 'FAILED').length,
            finishedAt: isoNow(),
          },
        }),
      ),
    );
    if (run.releasedJob) throw error;
    const summary = `${range}${mode ? ` (${mode})` : ''}: cancelled after ${done.length} of ${dates.length} date(s)`;
    return endRun(
      run,
      { outcome: 'cancelled', summary, details: jobDetails(plan, session, done) },
      { cancellation: error, memo: `job ${job.name} ${summary}` },
    );
  }

  const results = calls.map((call) => operations.get(call.name) as JobOperation);
  const failed = results.filter((o) => o.status === 'FAILED');
  const outcome = endingOutcome({ failed: failed.length > 0, unreachableAware });
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

  const summary = summarise(range, mode, results);
  const error = failed.length > 0 ? describeFailedDates(job, results, failed) : undefined;
  return endRun(
    run,
    {
      outcome,
      summary,
      error,
      details: { ...jobDetails(plan, session, results), ...(auditProblems.length > 0 ? { auditProblems } : {}) },
    },
    {
      message: error,
      // A host without a worker is also a failure to whoever listens for `job.failed` or `failed`.
      events: [
        'job.summary',
        ...(outcome === 'unreachable' ? ['job.unreachable'] : []),
        ...(failed.length > 0 ? ['job.failed'] : []),
      ],
      memo: `job ${job.name} ${summary}`,
    },
  );
}

/** What a job's report says beyond its outcome: the job, its dates and each date's result. */
function jobDetails(plan: JobPlan, session: JobSession, operations: JobOperation[]): Record<string, unknown> {
  return {
    job: plan.job.name,
    mode: plan.mode ?? null,
    from: session.from,
    to: session.to,
    logicalDate: plan.logicalDate,
    timezone: plan.timezone,
    params: plan.params,
    dates: operations.map((o) => ({
      date: o.date,
      status: o.status,
      exitCode: o.exitCode,
      httpStatus: o.httpStatus ?? null,
      durationMs: o.durationMs ?? null,
      attempts: o.attempts,
    })),
    url: session.url ?? null,
  };
}

/** Workflow changes after release, guarded so that recorded histories still replay. */
const JOB_DATE_IN_SCHEDULE_ZONE = 'job-date-in-schedule-zone';

/** The job, its dates, mode and parameters, or a non-retryable failure naming the input field to fix. */
function planJob(manifest: Manifest, input: JobInput): JobPlan {
  const job = manifest.jobs.find((j) => j.name === input.job);
  if (!job) {
    const known = manifest.jobs.map((j) => j.name).join(', ') || 'none';
    throw failure('BadInput', `job: the app ${manifest.app} has no job '${input.job}'; its jobs: ${known}`);
  }
  // A run without a time zone (a manual one) takes its job's schedule's, so "today" is the schedule's today.
  const scheduled = manifest.schedules.find((s) => s.run === 'job' && s.job === job.name)?.timezone;
  const timezone = input.timezone ?? (scheduled && patched(JOB_DATE_IN_SCHEDULE_ZONE) ? scheduled : 'UTC');
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
