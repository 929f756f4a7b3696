import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { activityInfo } from '@temporalio/activity';
import { stepLabel } from '../common/labels';
import { stepArgv } from '../manifest/argv';
import { durationMs } from '../common/duration';
import type { Manifest, Step, StepPhase } from '../manifest/types';
import type { ActivityConfig } from './config';
import { appEnvironment, commandEnvironment, missingEnv, secretValues } from './environment';
import { appPaths } from '../common/names';
import { readStateJson } from './host-state';
import { writeFileAtomic } from './atomic-write';
import { releaseEnvironment } from './images';
import { scanDeployLog } from './deploy-log';
import { describeFailure, runCommand } from './shell';
import { failure } from '../common/failures';

export interface StepRequest {
  manifest: Manifest;
  phase: StepPhase;
  index: number;
  /** The deploy this step belongs to: its markers live under <state>/deploys/<deployId>. */
  deployId: string;
  /** Working directory (a release, the in-place root, or the staging folder for preflight). */
  dir: string;
  /** Template values ({{release}}, {{ref}}, params…) and extra environment for the command. */
  values: Record<string, string>;
  extraEnv?: Record<string, string>;
}

export interface StepResult {
  label: string;
  exitCode: number | null;
  durationMs: number;
  outputTail: string;
  /** True when a retry found the step already done by an earlier attempt and did not run it again. */
  reused: boolean;
  /** A `once: true` step that an earlier deploy (this id) ran: not run again. */
  ranOnce?: string;
}

function stepOf(manifest: Manifest, phase: StepPhase, index: number): Step {
  const step = manifest.steps[phase][index];
  if (!step) throw failure('BadInput', `no ${phase} step #${index} in the manifest`);
  return step;
}

/** A `once: true` step's record of the deploy that ran it (`succeeded` once that deploy's success is known). */
interface OnceMarker {
  deployId: string;
  result: StepResult;
  succeeded?: boolean;
}

function onceMarkerFor(manifest: Manifest, phase: StepPhase, label: string): string {
  const slug = label.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 80);
  const hash = createHash('sha256').update(label).digest('hex').slice(0, 8);
  return path.join(appPaths(manifest).stateDir, 'once', `${phase}-${slug}-${hash}.done`);
}

/**
 * A `once: true` step that an earlier deploy ran counts as done — unless that deploy did not succeed and its
 * database snapshot may have been restored (rollback.database other than never), undoing what the step did.
 */
async function ranOnceBefore(
  manifest: Manifest,
  marker: string,
  deployId: string,
): Promise<{ deployId: string; result: StepResult } | undefined> {
  if (!existsSync(marker)) return undefined;
  const earlier = JSON.parse(readFileSync(marker, 'utf8')) as OnceMarker;
  if (earlier.deployId === deployId) return undefined;
  if (manifest.rollback.database === 'never' || earlier.succeeded) return earlier;
  let succeeded = false;
  await scanDeployLog(
    appPaths(manifest).deployLog,
    (line) => {
      if (line.kind === 'deploy' && line.release === earlier.deployId && line.outcome === 'succeeded')
        return (succeeded = true);
    },
    { mentioning: JSON.stringify(earlier.deployId) },
  );
  if (!succeeded) return undefined;
  // A deploy that succeeded stays so: later deploys need not look through the log for it again.
  await writeFileAtomic(marker, JSON.stringify({ ...earlier, succeeded: true }));
  return earlier;
}

export function stepActivities(config: ActivityConfig) {
  return {
    /** Required environment names present on this host (values are never reported). */
    async checkEnvironment(request: { manifest: Manifest }): Promise<string> {
      const env = appEnvironment(request.manifest, config.env);
      const missing = missingEnv(env, request.manifest.env.required);
      if (missing.length > 0) {
        const where = request.manifest.env.file
          ? `${request.manifest.env.file} or the worker's environment`
          : "the worker's environment";
        throw failure(
          'MissingEnvironment',
          `missing required environment on this host: ${missing.join(', ')}; set them in ${where}`,
        );
      }
      return `${request.manifest.env.required.length} required variable(s) present`;
    },

    /**
     * Runs one manifest step. A marker records success, so a retry after a worker crash returns the earlier
     * result instead of running the command twice; its lease lets the retry stop everything the dead
     * worker's attempt left running before starting again.
     */
    async runStep(request: StepRequest): Promise<StepResult> {
      const { manifest, phase, index } = request;
      const step = stepOf(manifest, phase, index);
      const label = stepLabel(step);
      const markers = path.join(appPaths(manifest).stateDir, 'deploys', request.deployId, 'steps');
      const marker = path.join(markers, `${phase}-${index}.done`);
      // A marker a machine crash left empty or cut short (it is not flushed, below) is no marker: the step runs.
      const done = readStateJson<StepResult>(marker);
      if (done) return { ...done, reused: true };
      const onceMarker = step.once ? onceMarkerFor(manifest, phase, label) : undefined;
      const earlier = onceMarker ? await ranOnceBefore(manifest, onceMarker, request.deployId) : undefined;
      if (earlier) return { ...earlier.result, reused: true, ranOnce: earlier.deployId };

      const release = { id: request.values.release, ref: request.values.ref };
      const env = {
        ...commandEnvironment(manifest, config.env),
        ...step.env,
        ...request.extraEnv,
        ...releaseEnvironment(manifest, phase === 'preflight' ? undefined : release),
      };
      const redact = secretValues(manifest, config.env);
      const result = await runCommand({
        argv: stepArgv(step, request.values),
        cwd: step.cwd ? path.resolve(request.dir, step.cwd) : request.dir,
        env,
        redact,
        timeoutMs: step.timeout ? durationMs(step.timeout) : undefined,
        lease: `${manifest.app}/deploys/${request.deployId}/${phase}-${index}`,
      });
      const outcome: StepResult = {
        label,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
        outputTail: (result.stdoutTail + result.stderrTail).trim().split('\n').slice(-20).join('\n'),
        reused: false,
      };
      if (result.exitCode !== 0) {
        const message = `${phase} step '${label}' ${describeFailure(result, '').trim()}`;
        throw failure('StepFailed', message, { final: activityInfo().attempt > (step.retries ?? 0) });
      }
      // Not flushed to disk (~3 ms a step, more on a busy disk): it is read only when this deploy runs the step
      // again — a retry after its worker died, which the kernel's copy outlives, or a resume. A machine crash can
      // lose the last seconds' markers, and with them the steps' own unflushed writes: such a step runs again,
      // as one the crash stopped midway does. The once-marker is read by later deploys, so it is flushed.
      await writeFileAtomic(marker, JSON.stringify(outcome), 0o644, { durable: false });
      if (onceMarker)
        await writeFileAtomic(onceMarker, JSON.stringify({ deployId: request.deployId, result: outcome }));
      return outcome;
    },
  };
}
