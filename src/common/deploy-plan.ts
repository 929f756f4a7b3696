import type { Manifest, Step } from '../manifest/types';
import type { DeployInput } from './contracts';
import { checkLabel, stepLabel } from './labels';
import { isRefAllowed, isWellFormedRef } from './refs';
import { placeholders } from './template';

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
  /** What a step that fails before the switch does: undo at once, or wait this long for a decision. */
  onFailure: { policy: 'rollback' } | { policy: 'ask'; decisionTimeout: string };
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
  | 'build-image'
  | 'copy-into-place'
  | 'approval'
  | 'stop-services'
  | 'switch-current'
  | 'start-services'
  | 'health-check'
  | 'bake';

export interface PlannedStep {
  phase: PlannedPhase;
  action: PlannedAction;
  /** The step's name as progress, the Web UI and the deploy log show it. */
  name: string;
  /** For manifest steps: which one, to run it. */
  step?: {
    phase: 'preflight' | 'install' | 'migrate' | 'build' | 'seed';
    index: number;
    run: Step['run'];
    shell?: boolean;
  };
  /** For checks: which one. */
  check?: { list: 'dependencies' | 'health'; index: number };
}

/** The bake's step, as progress and `runbook plan` show it (host-prefixed on several hosts). */
export function bakeStepName(bake: string): string {
  return `bake: watch for ${bake}`;
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

const STEP_PHASES = ['preflight', 'install', 'migrate', 'build', 'seed'] as const;

/** A step with `when: { params }` runs only when the deploy gives each of those params a value. */
export function stepRuns(step: Step, params: Record<string, string>): boolean {
  return (step.when?.params ?? []).every((name) => params[name] !== undefined && params[name] !== '');
}

/**
 * A param the operator gave that no step of this deploy reads would be dropped without a word (a tenant id
 * for a seed step that runs only with seed: true): refused instead, naming where it is used.
 */
function checkParamsUsed(manifest: Manifest, input: DeployInput, planned: PlannedStep[]): void {
  const reads = (step: Step, name: string) =>
    (Array.isArray(step.run) ? step.run : [step.run]).some((word) => placeholders(word).includes(name)) ||
    (step.when?.params ?? []).includes(name);
  for (const name of Object.keys(input.params ?? {})) {
    if (planned.some((p) => p.step && reads(manifest.steps[p.step.phase][p.step.index], name))) continue;
    const readers = STEP_PHASES.flatMap((phase) =>
      manifest.steps[phase]
        .filter((step) => reads(step, name))
        .map((step) => {
          const why =
            phase === 'seed' && !input.seed
              ? 'runs only with seed: true'
              : `runs only when ${step.when?.params.join(' and ')} ${step.when?.params.length === 1 ? 'is' : 'are'} given`;
          return `${phase}: ${stepLabel(step)} ${why}`;
        }),
    );
    throw new DeployInputError(
      `param '${name}' is read by no step of this deploy (${readers.join('; ') || 'no step of the manifest uses it'}); leave it out, or ask for the step that reads it`,
    );
  }
}

export function planDeploy(manifest: Manifest, input: DeployInput, releaseId = '<release>'): DeployPlan {
  const params = validateDeployInput(manifest, input);
  const multi = manifest.hosts.length > 1;
  const inPlace = manifest.strategy === 'in-place';
  const requireApproval = input.requireApproval ?? manifest.approval.required;
  const hosts = manifest.hosts.map((host) => {
    const prefix = multi ? `${host}: ` : '';
    const steps: PlannedStep[] = [];
    const add = (phase: PlannedPhase, action: PlannedAction, name: string, extra: Partial<PlannedStep> = {}) =>
      steps.push({ phase, action, name: `${prefix}${name}`, ...extra });
    const addSteps = (phase: 'preflight' | 'install' | 'migrate' | 'build' | 'seed') =>
      manifest.steps[phase].forEach((step, index) => {
        if (!stepRuns(step, params)) return;
        add(phase, 'run-step', `${phase}: ${stepLabel(step)}`, {
          step: { phase, index, run: step.run, shell: step.shell },
        });
      });
    // A manifest recorded in a history from before `approval.before` existed has no such field.
    const gateBefore = manifest.approval.before ?? 'switch';
    const gate = (before: Manifest['approval']['before']) => {
      if (requireApproval && gateBefore === before) add('approval', 'approval', 'approval');
    };

    add('preflight', 'check-environment', 'preflight: required environment');
    manifest.dependencies.forEach((check, index) =>
      add('preflight', 'check-dependency', `preflight: ${checkLabel(check)}`, {
        check: { list: 'dependencies', index },
      }),
    );
    addSteps('preflight');
    if (inPlace) {
      add(
        'snapshot',
        'archive-live-folder',
        manifest.snapshot.files === false
          ? `snapshot: copy ${manifest.root} for the rollback (no zip)`
          : `snapshot: archive ${manifest.root}`,
      );
      add('switch', 'stop-services', 'stop services');
      add(
        'update',
        'copy-into-place',
        `update: copy ${manifest.source.type === 'copy' ? manifest.source.from : ''} into ${manifest.root}`,
      );
    } else {
      add('snapshot', 'find-previous-release', 'snapshot: previous release');
      add('update', 'prepare-release', `update: release ${releaseId} from ${input.ref}`);
      // `build` without `code` was accepted (and ignored) before images were built: such manifests, kept in
      // histories, still plan no build.
      if (manifest.source.type === 'image' && manifest.source.build && manifest.source.code)
        add('update', 'build-image', `update: build image ${manifest.source.image}:${releaseId}`);
    }
    gate('install');
    addSteps('install');
    gate('migrate');
    if (manifest.steps.migrate.length > 0 && manifest.snapshot.database)
      add('snapshot', 'snapshot-database', 'snapshot database');
    addSteps('migrate');
    gate('build');
    addSteps('build');
    gate('seed');
    if (input.seed) addSteps('seed');
    gate('switch');
    if (!inPlace) {
      add('switch', 'stop-services', 'stop services');
      add('switch', 'switch-current', `switch current → ${releaseId}`);
    }
    add('switch', 'start-services', 'start services');
    manifest.health.checks.forEach((check, index) =>
      add('health', 'health-check', `health: ${checkLabel(check)}`, { check: { list: 'health', index } }),
    );
    if (manifest.health.bake) add('health', 'bake', bakeStepName(manifest.health.bake));
    return { host, steps };
  });

  checkParamsUsed(manifest, input, hosts[0]?.steps ?? []);

  const compensations: string[] = [];
  for (const host of [...manifest.hosts].reverse()) {
    const prefix = multi ? `${host}: ` : '';
    if (inPlace)
      compensations.push(`${prefix}restore archive of ${manifest.root} (failed tree kept as _failed_<timestamp>)`);
    else compensations.push(`${prefix}stop services and switch back to the previous release`);
    if (manifest.steps.migrate.length > 0 && manifest.snapshot.database && manifest.rollback.database !== 'never')
      compensations.push(`${prefix}restore database snapshot (${manifest.rollback.database})`);
    compensations.push(`${prefix}start previous services and check health`);
  }

  const policy = input.onFailure ?? manifest.onFailure ?? 'rollback';
  return {
    app: manifest.app,
    ref: input.ref,
    strategy: manifest.strategy,
    hosts,
    compensations,
    onFailure:
      policy === 'ask' ? { policy, decisionTimeout: manifest.decisionTimeout ?? '1h' } : { policy: 'rollback' },
    values: {
      app: manifest.app,
      ref: input.ref,
      release: releaseId,
      root: manifest.root,
      releaseDir: inPlace ? manifest.root : `${manifest.root}/releases/${releaseId}`,
      ...params,
    },
  };
}
