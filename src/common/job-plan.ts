/**
 * What a job run will do, decided from its input and the manifest's job: the dates, the mode, the
 * parameters and the activity's timeout and retries. Pure and deterministic: the job workflow calls it.
 */
import { addDays, checkDate, datesBetween, daysInRange } from './dates';
import { durationMs } from './duration';
import type { Job } from '../manifest/types';
import type { JobInput } from './contracts';

/** Bad input to a job run; the workflow turns it into a non-retryable failure naming the field. */
export class JobInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'JobInputError';
  }
}

/** More dates than this in one run is almost certainly a typo in a year. */
export const MAX_JOB_DATES = 366;

/** The date a run without explicit dates processes: its logical day, or the day before. */
export function defaultJobDate(logicalDay: string, defaultDate: Job['defaultDate']): string {
  return defaultDate === 'yesterday' ? addDays(logicalDay, -1) : logicalDay;
}

function checkInputDate(field: string, value: string): void {
  checkDate(value, (problem, fix) => new JobInputError(field, `${problem}; ${fix}`));
}

/** The dates of a run: one `date`, a `from`..`to` range (inclusive), or the default date. */
export function resolveDates(input: Pick<JobInput, 'date' | 'from' | 'to'>, defaultDate: string): string[] {
  const { date, from, to } = input;
  if (date !== undefined && (from !== undefined || to !== undefined))
    throw new JobInputError('date', 'give either date, or from and to, not both');
  if (date !== undefined) {
    checkInputDate('date', date);
    return [date];
  }
  if (from === undefined && to === undefined) return [defaultDate];
  if (from === undefined) throw new JobInputError('from', `a range needs both from and to (to is ${to})`);
  if (to === undefined) throw new JobInputError('to', `a range needs both from and to (from is ${from})`);
  checkInputDate('from', from);
  checkInputDate('to', to);
  if (from > to) throw new JobInputError('to', `the range ends (${to}) before it starts (${from}); swap from and to`);
  const days = daysInRange(from, to);
  if (days > MAX_JOB_DATES)
    throw new JobInputError('to', `${days} dates is more than ${MAX_JOB_DATES} in one run; split the range`);
  return datesBetween(from, to);
}

/** The mode of a run: the requested one or the job's default, checked against the job's modes. */
export function resolveMode(
  job: Pick<Job, 'name' | 'modes' | 'defaultMode'>,
  requested: string | undefined,
): string | undefined {
  const mode = requested ?? job.defaultMode;
  if (!job.modes) return mode;
  if (mode === undefined)
    throw new JobInputError('mode', `the job ${job.name} needs a mode: one of ${job.modes.join(', ')}`);
  if (!job.modes.includes(mode))
    throw new JobInputError(
      'mode',
      `'${mode}' is not a mode of the job ${job.name}; expected one of ${job.modes.join(', ')}`,
    );
  return mode;
}

/** The job's parameters with defaults applied; unknown, missing and malformed values are refused. */
export function resolveParams(
  job: Pick<Job, 'name' | 'params'>,
  given: Record<string, string> = {},
): Record<string, string> {
  const known = Object.keys(job.params);
  for (const name of Object.keys(given)) {
    if (!known.includes(name))
      throw new JobInputError(
        `params.${name}`,
        `the job ${job.name} has no parameter '${name}'; ${known.length ? `known: ${known.join(', ')}` : 'it takes no parameters'}`,
      );
  }
  const params: Record<string, string> = {};
  for (const [name, spec] of Object.entries(job.params)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) {
      if (spec.required)
        throw new JobInputError(
          `params.${name}`,
          `the job ${job.name} needs this parameter${spec.description ? ` (${spec.description})` : ''}`,
        );
      continue;
    }
    if (value.startsWith('-'))
      throw new JobInputError(
        `params.${name}`,
        `'${value}' may not start with '-' (a command would read it as an option)`,
      );
    if (spec.pattern !== undefined && !anchored(spec.pattern, job.name, name).test(value))
      throw new JobInputError(`params.${name}`, `'${value}' does not match the pattern ${spec.pattern}`);
    params[name] = value;
  }
  return params;
}

function anchored(pattern: string, job: string, param: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (error) {
    throw new JobInputError(
      `params.${param}`,
      `the manifest's pattern for this parameter of ${job} is not a valid regular expression (${(error as Error).message}); fix jobs[].params.${param}.pattern`,
    );
  }
}

/** The per-date activity's limits: the job's timeout is its startToClose, its retries its extra attempts. */
export function jobActivityPolicy(job: Pick<Job, 'timeout' | 'retries'>): {
  startToCloseTimeoutMs: number;
  maximumAttempts: number;
} {
  return { startToCloseTimeoutMs: durationMs(job.timeout), maximumAttempts: job.retries + 1 };
}
