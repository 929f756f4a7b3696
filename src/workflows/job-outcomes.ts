/** How the job workflow turns each date's activity result or failure into its record, and the run into words. */
import { ActivityFailure, TimeoutFailure } from '@temporalio/workflow';
import type { JobOperation } from '../activities/audit';
import type { JobDateOutcome } from '../activities/jobs';
import { isFailureOf } from '../common/failures';
import type { Job } from '../manifest/types';
import { failureMessage } from './progress';

export function operationFields(
  outcome: JobDateOutcome,
): Pick<JobOperation, 'date' | 'exitCode' | 'httpStatus' | 'durationMs' | 'attempts' | 'stdoutTail' | 'stderrTail'> {
  return {
    date: outcome.date,
    exitCode: outcome.exitCode,
    httpStatus: outcome.httpStatus,
    durationMs: outcome.durationMs,
    attempts: outcome.attempt,
    stdoutTail: outcome.stdoutTail,
    stderrTail: outcome.stderrTail,
  };
}

export function describeOutcome(outcome: JobDateOutcome): string {
  const result = outcome.httpStatus !== undefined ? `HTTP ${outcome.httpStatus}` : `exit ${outcome.exitCode}`;
  return outcome.reused ? `${result} (done earlier in this run)` : result;
}

/** The last attempt's outcome, carried as the details of the activity's failure. */
export function failedOutcome(error: unknown): JobDateOutcome | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  if (isFailureOf(cause, 'JobDateFailed')) return cause.details?.[0] as JobDateOutcome | undefined;
  return undefined;
}

export function dateFailureMessage(error: unknown, job: Job): string {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  if (cause instanceof TimeoutFailure)
    return `${job.name} did not finish within ${cause.timeoutType === 'HEARTBEAT' ? 'its heartbeat timeout (the worker on the host stopped answering)' : `the job's timeout of ${job.timeout}`}`;
  return failureMessage(error);
}

export function summarise(range: string, mode: string | undefined, results: JobOperation[]): string {
  const failed = results.filter((o) => o.status === 'FAILED');
  const counts = `${results.length - failed.length} OK, ${failed.length} FAILED`;
  return `${range}${mode ? ` (${mode})` : ''}: ${counts}${failed.length > 0 ? ` — failed: ${failed.map((o) => o.date).join(', ')}` : ''}`;
}

export function describeFailedDates(job: Job, results: JobOperation[], failed: JobOperation[]): string {
  const lines = [
    `${failed.length} of ${results.length} date(s) of ${job.name} FAILED: ${failed.map((o) => o.date).join(', ')}. ` +
      'The other dates are done; once the cause is fixed, run the job again for the failed dates only.',
  ];
  for (const operation of failed) lines.push('', `${operation.date}: ${operation.message ?? 'failed'}`);
  return lines.join('\n');
}
