import type { Manifest, Step, StepPhase } from '../manifest/types';
import type { DeployInput } from './contracts';
import { checkLabel, stepLabel } from './labels';
import { deployDir, hostPrefix } from './names';
import { isRefAllowed, isWellFormedRef } from './refs';

/**
 * What a deploy will do, computed from the manifest and the input alone (pure and deterministic): the
 * workflow runs exactly these steps, and `runbook plan` prints them without executing anything.
 */
export interface DeployPlan {
  app: string;
  ref: string;
  strategy: Manifest['strategy'];
  hosts: HostPlan[];
  /** What a failure would undo, in the order the undo runs. */
  compensations: string[];
  /** Template values the step commands see (release-specific ones as placeholders). */
  values: Record<string, string>;
}

export interface HostPlan {
  host: string;
  steps: PlannedStep[];
}

export type PlannedPhase =
  'preflight' | 'snapshot' | 'update' | 'install' | 'migrate' | 'build' | 'seed' | 'approval' | 'switch' | 'health';

/** What the workflow does for a planned step. */
export type PlannedAction =
  | 'check-environment'
  | 'check-dependency'
  | 'run-step'
  | 'find-previous-release'
  | 'archive-live-folder'
  | 'snapshot-database'
  | 'prepare-release'
  | 'copy-into-place'
  | 'approval'
  | 'stop-services'
  | 'switch-current'
  | 'start-services'
  | 'health-check';

export interface PlannedStep {
  phase: PlannedPhase;
  action: PlannedAction;
  /** The step's name as progress, the Web UI and the deploy log show it. */
  name: string;
  /** For manifest steps: which one, to run it. */
  step?: {
    phase: StepPhase;
    index: number;
    run: Step['run'];
    shell?: boolean;
  };
  /** For checks: which one. */
  check?: { list: 'dependencies' | 'health'; index: number };
}

/** A deploy the manifest does not allow, or bad input: the message says what to fix. */
export class DeployInputError extends Error {}

export function validateDeployInput(manifest: Manifest, input: DeployInput): Record<string, string> {
  if (!isWellFormedRef(input.ref))
    throw new DeployInputError(`ref '${input.ref}' is not a valid git ref or tag; use a branch, tag or commit id`);
  const source = manifest.source;
  const allowed = source.type === 'git' ? source.allowedRefs : source.type === 'image' ? source.allowedTags : undefined;
  if (!isRefAllowed(input.ref, allowed))
    throw new DeployInputError(
      `ref '${input.ref}' may not be deployed to ${manifest.app}; allowed: ${allowed?.join(', ')} (source.allowedRefs)`,
    );
  const params: Record<string, string> = {};
  const given = input.params ?? {};
  for (const name of Object.keys(given)) {
    if (!(name in manifest.params))
      throw new DeployInputError(
        `unknown param '${name}'; ${manifest.app} accepts: ${Object.keys(manifest.params).join(', ') || 'none'}`,
      );
  }
  for (const [name, spec] of Object.entries(manifest.params)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) {
      if (spec.required)
        throw new DeployInputError(`param '${name}' is required${spec.description ? ` (${spec.description})` : ''}`);
      continue;
    }
    if (typeof value !== 'string') throw new DeployInputError(`param '${name}' must be a string`);
    if (value.startsWith('-')) throw new DeployInputError(`param '${name}' may not start with '-'`);
    if (spec.pattern && !new RegExp(`^(?:${spec.pattern})$`).test(value))
      throw new DeployInputError(`param '${name}'='${value}' does not match ${spec.pattern}`);
    params[name] = value;
  }
  return params;
}

export function planDeploy(manifest: Manifest, input: DeployInput, releaseId = '<release>'): DeployPlan {
  const params = validateDeployInput(manifest, input);
  const inPlace = manifest.strategy === 'in-place';
  const requireApproval = input.requireApproval ?? manifest.approval.required;
  const hosts = manifest.hosts.map((host) => {
    const prefix = hostPrefix(manifest, host);
    const steps: PlannedStep[] = [];
    const add = (phase: PlannedPhase, action: PlannedAction, name: string, extra: Partial<PlannedStep> = {}) =>
      steps.push({ phase, action, name: `${prefix}${name}`, ...extra });
    const addSteps = (phase: StepPhase) =>
      manifest.steps[phase].forEach((step, index) =>
        add(phase, 'run-step', `${phase}: ${stepLabel(step)}`, {
          step: { phase, index, run: step.run, shell: step.shell },
        }),
      );

    add('preflight', 'check-environment', 'preflight: required environment');
    manifest.dependencies.forEach((check, index) =>
      add('preflight', 'check-dependency', `preflight: ${checkLabel(check)}`, {
        check: { list: 'dependencies', index },
      }),
    );
    addSteps('preflight');
    if (inPlace) {
      add('snapshot', 'archive-live-folder', `snapshot: archive ${manifest.root}`);
      add('switch', 'stop-services', 'stop services');
      add(
        'update',
        'copy-into-place',
        `update: copy ${manifest.source.type === 'copy' ? manifest.source.from : ''} into ${manifest.root}`,
      );
    } else {
      add('snapshot', 'find-previous-release', 'snapshot: previous release');
      add('update', 'prepare-release', `update: release ${releaseId} from ${input.ref}`);
    }
    addSteps('install');
    if (manifest.steps.migrate.length > 0 && manifest.snapshot.database)
      add('snapshot', 'snapshot-database', 'snapshot database');
    addSteps('migrate');
    addSteps('build');
    if (input.seed) addSteps('seed');
    if (requireApproval) add('approval', 'approval', 'approval');
    if (!inPlace) {
      add('switch', 'stop-services', 'stop services');
      add('switch', 'switch-current', `switch current → ${releaseId}`);
    }
    add('switch', 'start-services', 'start services');
    manifest.health.checks.forEach((check, index) =>
      add('health', 'health-check', `health: ${checkLabel(check)}`, { check: { list: 'health', index } }),
    );
    return { host, steps };
  });

  const compensations: string[] = [];
  for (const host of [...manifest.hosts].reverse()) {
    const prefix = hostPrefix(manifest, host);
    if (inPlace)
      compensations.push(`${prefix}restore archive of ${manifest.root} (failed tree kept as _failed_<timestamp>)`);
    else compensations.push(`${prefix}stop services and switch back to the previous release`);
    if (manifest.steps.migrate.length > 0 && manifest.snapshot.database && manifest.rollback.database !== 'never')
      compensations.push(`${prefix}restore database snapshot (${manifest.rollback.database})`);
    compensations.push(`${prefix}start previous services and check health`);
  }

  return {
    app: manifest.app,
    ref: input.ref,
    strategy: manifest.strategy,
    hosts,
    compensations,
    values: {
      app: manifest.app,
      ref: input.ref,
      release: releaseId,
      root: manifest.root,
      releaseDir: deployDir(manifest, releaseId),
      ...params,
    },
  };
}
