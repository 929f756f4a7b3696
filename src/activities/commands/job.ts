import { expandArgv } from '../../common/template';
import { commandToArgv } from '../../manifest/argv';
import type { Job } from '../../manifest/types';

/** What a job's `{{placeholders}}` may name for one date of a run. */
export interface JobTemplateValues {
  app: string;
  root: string;
  /** The date this activity processes. */
  date: string;
  /** The whole run's range (equal to date for a one-date run). */
  from: string;
  to: string;
  /** The run's default date (its logical date per the job's defaultDate). */
  logicalDate: string;
  mode?: string;
  params: Record<string, string>;
}

/** The values by placeholder name; the named values win over a parameter of the same name. */
export function jobTemplateMap(values: JobTemplateValues): Record<string, string | undefined> {
  const { params, ...named } = values;
  return { ...params, ...named };
}

/**
 * The argv of one date's command: the manifest's words with placeholders filled in, element by element, so a
 * value can never become a second argument. `shell: true` jobs are fixed text (the schema refuses
 * placeholders there); they read the date and mode from the environment instead (jobEnvironment).
 */
export function jobArgv(job: Pick<Job, 'name' | 'run' | 'shell'>, values: JobTemplateValues): string[] {
  if (!job.run) throw new Error(`job ${job.name} has no run command`);
  if (job.shell) return ['/bin/sh', '-c', Array.isArray(job.run) ? job.run.join(' ') : job.run];
  return expandArgv(commandToArgv(job.run), jobTemplateMap(values));
}

/** The same values as environment variables, for scripts that prefer them to arguments. */
export function jobEnvironment(values: JobTemplateValues): Record<string, string> {
  const env: Record<string, string> = {
    RUNBOOK_JOB_DATE: values.date,
    RUNBOOK_JOB_FROM: values.from,
    RUNBOOK_JOB_TO: values.to,
    RUNBOOK_JOB_LOGICAL_DATE: values.logicalDate,
  };
  if (values.mode !== undefined) env.RUNBOOK_JOB_MODE = values.mode;
  return env;
}
