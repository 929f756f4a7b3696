import { Command } from 'commander';
import type { JobInput } from '../../common/contracts';
import { JobInputError, resolveDates, resolveMode, resolveParams } from '../../common/job-plan';
import type { Output } from '../output';
import { UsageError } from '../../client/errors';
import { startAndFollow } from '../follow';
import { dateOption, checkParams, collectParam, loadAppManifest } from '../manifests';

interface JobRunOptions {
  date?: string;
  from?: string;
  to?: string;
  mode?: string;
  param?: Record<string, string>;
  wait: boolean;
}

export async function jobInput(app: string, jobName: string, options: JobRunOptions): Promise<JobInput> {
  const manifest = await loadAppManifest(app);
  const job = manifest.jobs.find((j) => j.name === jobName);
  if (!job) {
    const names = manifest.jobs.map((j) => j.name);
    throw new UsageError(
      `<job> '${jobName}' is not a job of ${app}`,
      names.length > 0 ? `its jobs are: ${names.join(', ')}` : `${app} declares no jobs`,
    );
  }
  if (options.date && (options.from || options.to))
    throw new UsageError(
      '--date cannot be combined with --from/--to',
      'give one date, or a range with --from and --to',
    );
  if (Boolean(options.from) !== Boolean(options.to))
    throw new UsageError(
      `--${options.from ? 'to' : 'from'} is missing`,
      'a range needs both --from and --to (inclusive)',
    );
  const dates = {
    ...(options.date ? { date: dateOption(options.date, '--date') } : {}),
    ...(options.from && options.to
      ? { from: dateOption(options.from, '--from'), to: dateOption(options.to, '--to') }
      : {}),
  };
  if (dates.from && dates.to && dates.from > dates.to)
    throw new UsageError(`--from ${dates.from} is after --to ${dates.to}`, 'swap them');
  if (options.mode && job.modes && !job.modes.includes(options.mode))
    throw new UsageError(
      `--mode '${options.mode}' is not a mode of job ${jobName}`,
      `its modes are: ${job.modes.join(', ')}`,
    );
  const params = options.param ?? {};
  checkParams(job.params, params, `job ${jobName}`);
  // The workflow's own checks (a mode the job needs, range length), so a run it would refuse never starts.
  try {
    resolveDates(dates, '1970-01-01');
    resolveMode(job, options.mode);
    resolveParams(job, params);
  } catch (error) {
    if (error instanceof JobInputError)
      throw new UsageError(
        `--${error.field.replace(/^params\./, 'param ')}: ${error.message.slice(error.field.length + 2)}`,
        'fix it and run again',
      );
    throw error;
  }
  return {
    app,
    job: jobName,
    ...dates,
    ...(options.mode ? { mode: options.mode } : {}),
    ...(Object.keys(params).length > 0 ? { params } : {}),
  };
}

export function jobCommand(output: Output): Command {
  const job = new Command('job')
    .description("run an app's jobs on demand (schedules run them on time: see `runbook schedule`)")
    .addHelpText('after', '\nExample:\n  $ runbook job run financial-etl daily-processor --date 2025-01-31');
  job.addCommand(
    new Command('run')
      .description('run one job now, for a date or a range of dates')
      .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
      .argument('<job>', 'a job of that manifest')
      .option('--date <YYYY-MM-DD>', "the date to process (default the job's defaultDate)")
      .option('--from <YYYY-MM-DD>', 'first date of a range (with --to; one activity per date)')
      .option('--to <YYYY-MM-DD>', 'last date of the range, inclusive')
      .option('--mode <mode>', "one of the job's modes, e.g. manual (detect only) or auto (apply)")
      .option('--param <key=value>', "a value for one of the job's params (repeatable)", collectParam)
      .option('--no-wait', 'return once the run has started')
      .addHelpText(
        'after',
        '\nExamples:\n  $ runbook job run financial-etl daily-processor --date 2025-01-31 --mode manual\n  $ runbook job run financial-etl daily-processor --from 2025-01-01 --to 2025-01-31',
      )
      .action(async (app: string, jobName: string, options: JobRunOptions) => {
        const input = await jobInput(app, jobName, options);
        const when = input.from ? ` ${input.from}..${input.to}` : input.date ? ` ${input.date}` : '';
        await startAndFollow(output, 'job', input, `job ${app} ${jobName}${when}`, { wait: options.wait });
      }),
  );
  return job;
}
