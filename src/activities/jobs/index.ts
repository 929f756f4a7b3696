import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Job, Manifest } from '../../manifest/types';
import { jobArgv, jobEnvironment, jobTemplateMap, type JobTemplateValues } from '../commands/job';
import { writeFileAtomic } from '../atomic-write';
import { reportProgress } from '../attempt';
import type { ActivityConfig } from '../config';
import { appEnvironment, commandEnvironment, requireEnv, secretHeaders, secretValues } from '../environment';
import { manifestActivities } from '../manifest';
import { appPaths, liveDir } from '../../common/names';
import { releaseEnvironment } from '../images';
import { readReleaseInfo } from '../release-info';
import { readBody } from '../http-body';
import { redact } from '../redact';
import { describeFailure, runCommand } from '../shell';
import { jobHttpRequest } from './http-request';
import { failure } from '../../common/failures';

/** One date of a job run, as the job workflow asks for it. The host re-reads the manifest itself. */
export type JobDateRequest = Omit<JobTemplateValues, 'root'> & {
  job: string;
  /**
   * The run's key for names on the host (done markers, the pid file, the HTTP idempotency key): the run id a
   * Temporal reset keeps. Requests of runs started before it was sent have none (the attempt's run id then).
   */
  runKey?: string;
};

/** What one date's command or request did; also the details of its failure. Output is redacted. */
export interface JobDateOutcome {
  date: string;
  exitCode: number | null;
  httpStatus?: number;
  durationMs: number;
  attempt: number;
  stdoutTail: string;
  stderrTail: string;
  argv?: string[];
  /** True when an earlier attempt of this run had already done the date: it was not run again. */
  reused?: boolean;
}

const TAIL_BYTES = 4_000;
export function jobActivities(config: ActivityConfig) {
  const { loadManifest } = manifestActivities(config);

  return {
    /**
     * Runs a job for one date on the app's host. A non-zero exit (or an unexpected HTTP status) fails the
     * attempt with the outcome as details, so Temporal retries it per the job's `retries` and the workflow
     * records the last attempt. A date done is recorded on the host (a marker per run and date, flushed to
     * disk before the activity returns), so a retry after a worker crash — or the same run after a Temporal
     * reset — returns the recorded outcome instead of running the date again. A retry of an attempt that
     * had not finished first stops the command its predecessor left running (its lease is named by run and date);
     * the date is then processed again, as the guide's processor expects of a re-run.
     */
    async runJobDate(request: JobDateRequest): Promise<JobDateOutcome> {
      const manifest = await loadManifest(request.app);
      const job = manifest.jobs.find((j) => j.name === request.job);
      if (!job)
        throw failure(
          'BadInput',
          `the manifest of ${request.app} on this host has no job '${request.job}' (jobs: ${manifest.jobs.map((j) => j.name).join(', ') || 'none'}); deploy the manifest to the host`,
        );
      const run = runOf(Context.current().info, request.runKey);
      const marker = jobDateMarker(manifest, job, run, request.date);
      if (existsSync(marker)) return { ...(JSON.parse(readFileSync(marker, 'utf8')) as JobDateOutcome), reused: true };
      const values: JobTemplateValues = {
        app: manifest.app,
        root: manifest.root,
        date: request.date,
        from: request.from,
        to: request.to,
        logicalDate: request.logicalDate,
        mode: request.mode,
        params: request.params,
      };
      const env = {
        ...commandEnvironment(manifest, config.env),
        ...job.env,
        ...jobEnvironment(values),
        ...releaseEnvironment(manifest, currentRelease(manifest)),
      };
      const secrets = secretValues(manifest, config.env);
      const outcome = job.http
        ? await runHttpJob({ manifest, job, values, run, env: appEnvironment(manifest, config.env), secrets })
        : await runCommandJob({ manifest, job, values, run, env, secrets });
      await writeFileAtomic(marker, JSON.stringify(outcome));
      await pruneJobMarkers(manifest);
      return outcome;
    },
  };
}

/** One date of a job to run: what it runs, for which run, with which environment and which values to redact. */
interface JobDate {
  manifest: Manifest;
  job: Job;
  values: JobTemplateValues;
  run: JobRunKey;
  env: NodeJS.ProcessEnv;
  secrets: string[];
}

async function runCommandJob({ manifest, job, values, run, env, secrets }: JobDate): Promise<JobDateOutcome> {
  const info = Context.current().info;
  const argv = jobArgv(job, values);
  const cwd = jobWorkingDirectory(manifest, job);
  if (!existsSync(cwd))
    throw failure(
      'BadInput',
      `the job ${job.name} runs in ${cwd}, which does not exist on this host; deploy the app or fix jobs[].cwd`,
    );
  let result;
  try {
    result = await runCommand({
      argv,
      cwd,
      env,
      timeoutMs: info.startToCloseTimeoutMs,
      redact: secrets,
      tailBytes: TAIL_BYTES,
      lease: `${manifest.app}/jobs/${run.workflowId}/${run.runKey}/${values.date}`,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw failure(
        'BadInput',
        `the job ${job.name} cannot start '${argv[0]}' in ${cwd}: no such program; fix jobs[].run or install it`,
      );
    throw error;
  }
  // runCommand stopped the command's process group; report the cancellation, not an exit status.
  if (Context.current().cancellationSignal.aborted)
    throw new CancelledFailure(`${job.name} for ${values.date} was stopped: the run was cancelled`);
  const outcome: JobDateOutcome = {
    date: values.date,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    attempt: info.attempt,
    stdoutTail: result.stdoutTail,
    stderrTail: result.stderrTail,
    argv: argv.map((a) => redact(a, secrets)),
  };
  if (result.exitCode === 0) return outcome;
  throw failure('JobDateFailed', describeFailure(result, `${job.name} for ${values.date}`), { details: [outcome] });
}

async function runHttpJob({ manifest, job, values, run, env, secrets }: JobDate): Promise<JobDateOutcome> {
  const context = Context.current();
  const http = job.http!;
  const url = http.url ?? requireEnv(env, http.urlEnv!, `URL of the job ${job.name}`, manifest);
  const request = jobHttpRequest(
    { ...http, url },
    jobTemplateMap(values),
    `${run.workflowId}/${run.runKey}/${values.date}`,
  );
  Object.assign(request.headers, secretHeaders(http.headersEnv, env, `job ${job.name}`, manifest));
  const started = Date.now();
  reportProgress(() => ({ elapsedMs: Date.now() - started }));
  const label = `${job.name} for ${values.date}: ${request.method} ${redact(request.url, secrets)}`;
  const fail = (message: string, outcome: JobDateOutcome) =>
    failure('JobDateFailed', redact(message, secrets), { details: [outcome] });
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.any([AbortSignal.timeout(context.info.startToCloseTimeoutMs), context.cancellationSignal]),
    });
    const { text } = await readBody(response);
    const outcome: JobDateOutcome = {
      date: values.date,
      exitCode: null,
      httpStatus: response.status,
      durationMs: Date.now() - started,
      attempt: context.info.attempt,
      stdoutTail: redact(tail(text), secrets),
      stderrTail: '',
    };
    if (request.expect.includes(response.status)) return outcome;
    throw fail(
      `${label} answered ${response.status}, expected ${request.expect.join(' or ')}${text ? `:\n${tail(text, 500)}` : ''}`,
      outcome,
    );
  } catch (error) {
    if (error instanceof ApplicationFailure) throw error;
    const message = `${label} failed: ${(error as Error).message}`;
    throw fail(message, {
      date: values.date,
      exitCode: null,
      durationMs: Date.now() - started,
      attempt: context.info.attempt,
      stdoutTail: '',
      stderrTail: redact(message, secrets),
    });
  }
}

/** The release a job runs against (its image, for an image app): the current one; none in place. */
function currentRelease(manifest: Manifest): { id: string; ref: string } | undefined {
  return manifest.strategy === 'releases' ? readReleaseInfo(liveDir(manifest)) : undefined;
}

/** Relative working directories are relative to the live code: `current` for releases, the root in place. */
export function jobWorkingDirectory(manifest: Pick<Manifest, 'root' | 'strategy'>, job: Pick<Job, 'cwd'>): string {
  const base = manifest.strategy === 'releases' ? path.join(manifest.root, 'current') : manifest.root;
  if (!job.cwd) return base;
  return path.isAbsolute(job.cwd) ? job.cwd : path.join(base, job.cwd);
}

function tail(text: string, chars = TAIL_BYTES): string {
  return text.length > chars ? text.slice(text.length - chars) : text;
}

interface JobRunKey {
  workflowId: string;
  runKey: string;
}

function runOf(info: Context['info'], runKey: string | undefined): JobRunKey {
  const execution = info.workflowExecution ?? { workflowId: info.activityId, runId: 'standalone' };
  return { workflowId: execution.workflowId, runKey: runKey ?? execution.runId };
}

/** How long a run's done markers are kept: far longer than a run of a job lasts, or a reset is made after it. */
const JOB_MARKERS_KEPT_MS = 30 * 24 * 3_600_000;

/**
 * How often the markers are looked through: a look reads every run kept (a month of a job every minute is
 * 43,200 folders, seconds of work), so a date looks only when the last look is an hour old.
 */
const JOB_MARKERS_PRUNED_EVERY_MS = 3_600_000;
const LAST_PRUNED = '.pruned';

/** Removes the done markers of job runs that last finished a date a month ago or more (at most hourly). */
export async function pruneJobMarkers(
  manifest: Pick<Manifest, 'root' | 'strategy' | 'app' | 'snapshot'>,
  now = Date.now(),
): Promise<void> {
  const jobsDir = path.join(appPaths(manifest).stateDir, 'jobs');
  const stamp = path.join(jobsDir, LAST_PRUNED);
  const last = await stat(stamp).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  if (last !== undefined && last <= now && now - last < JOB_MARKERS_PRUNED_EVERY_MS) return;
  await mkdir(jobsDir, { recursive: true });
  await writeFile(stamp, '');
  await utimes(stamp, now / 1000, now / 1000);
  for (const workflow of await readdir(jobsDir).catch(() => [] as string[])) {
    if (workflow === LAST_PRUNED) continue;
    const workflowDir = path.join(jobsDir, workflow);
    const runs = await readdir(workflowDir).catch(() => [] as string[]);
    for (const run of runs) {
      const runDir = path.join(workflowDir, run);
      const stats = await stat(runDir).catch(() => undefined);
      if (stats && now - stats.mtimeMs > JOB_MARKERS_KEPT_MS) await rm(runDir, { recursive: true, force: true });
    }
    if (runs.length > 0) await rmdir(workflowDir).catch(() => undefined); // only once empty
  }
}

/** Where a run records a date as done: `<state>/jobs/<workflow id>/<run key>/<job>.<date>.done`. */
export function jobDateMarker(
  manifest: Pick<Manifest, 'root' | 'strategy' | 'app' | 'snapshot'>,
  job: Pick<Job, 'name'>,
  run: JobRunKey,
  date: string,
): string {
  return path.join(
    appPaths(manifest).stateDir,
    'jobs',
    safeName(run.workflowId),
    safeName(run.runKey),
    `${safeName(job.name)}.${date}.done`,
  );
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}
