import type { Manifest, Step, StepPhase } from '../manifest/types';
import type { OptionGroup } from './activity-options';
import type { DeployInput } from './contracts';
import { checkLabel, STEP_PHASES, stepLabel } from './labels';
import { durationMs } from './duration';
import { deployDir, hostPrefix } from './names';
import { isRefAllowed, isWellFormedRef } from './refs';
import { placeholders } from './template';

/**
 * What a deploy will do, computed from the manifest and the input alone (pure and deterministic): the
 * workflow runs exactly these steps, with the options and the undos each names, and `runbook plan` prints
 * them without executing anything.
 */
export interface DeployPlan {
  app: string;
  ref: string;
  strategy: Manifest['strategy'];
  hosts: HostPlan[];
  /** Once every host is healthy, on each host: mark the release good and prune old releases (in place: old snapshots). */
  finish: HostPlan[];
  /** What a failure would undo, in the order the undos run: the steps' `undo`, last registered first. */
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
  | 'preflight'
  | 'snapshot'
  | 'update'
  | 'install'
  | 'migrate'
  | 'build'
  | 'seed'
  | 'approval'
  | 'switch'
  | 'health'
  | 'finish';

/**
 * What a failure undoes. A step registers its undos in this order, and a failure runs them in the reverse:
 * `start-previous` and `switch-back` before the step runs (it may change things even when it fails half-way),
 * `restore-archive` and `restore-database` once it succeeded (they need what it made).
 */
export type UndoAction = 'start-previous' | 'restore-archive' | 'restore-database' | 'switch-back';

/** Undos registered before their step runs; the others once it succeeded. */
export const UNDO_BEFORE_STEP: readonly UndoAction[] = ['start-previous', 'switch-back'];

interface Planned {
  phase: PlannedPhase;
  /** The step's name as progress, the Web UI and the deploy log show it. */
  name: string;
  /** The activity options it runs with (src/common/activity-options.ts). */
  group: OptionGroup;
  /** The undos this step registers once it ran. */
  undo: UndoAction[];
}

/** One step of a deploy: what the workflow does for it is decided by `action` alone. */
export type PlannedStep = Planned &
  (
    | { action: 'check-environment' }
    /** `check`: index into the manifest's dependencies. */
    | { action: 'check-dependency'; check: number }
    | {
        action: 'run-step';
        step: { phase: StepPhase; index: number; run: Step['run']; shell?: boolean };
        /** The manifest step's own `timeout`, plus a minute for the activity around it. */
        startToCloseTimeoutMs?: number;
      }
    | { action: 'find-previous-release' }
    | { action: 'archive-live-folder' }
    | { action: 'snapshot-database' }
    | { action: 'prepare-release' }
    /** An image app's release image, built from the release's files (source.build). */
    | { action: 'build-image' }
    | { action: 'copy-into-place' }
    | { action: 'approval' }
    | { action: 'stop-services' }
    | { action: 'switch-current' }
    | { action: 'start-services' }
    /** `check`: index into the manifest's health checks; they run together once services started. */
    | { action: 'health-check'; check: number }
    /** Watches the release for `health.bake` once every host passed its checks; all hosts bake together. */
    | { action: 'bake' }
    | { action: 'mark-release-good' }
    | { action: 'prune-releases' }
    /** In place: drop the copies, zips and failed trees `releases.keep` no longer keeps. */
    | { action: 'prune-in-place' }
  );

export type PlannedAction = PlannedStep['action'];

/**
 * How an undo reads in the plan, the progress and the report. The plan does not know the release a
 * deploy would go back to; the running deploy does (`previous`, undefined for a first deploy).
 */
export function undoLabel(
  undo: UndoAction,
  manifest: Pick<Manifest, 'hosts' | 'root' | 'rollback'>,
  host: string,
  running?: { previous?: string },
): string {
  const prefix = hostPrefix(manifest, host);
  switch (undo) {
    case 'start-previous':
      return `${prefix}start previous services and check health`;
    case 'restore-archive':
      return `${prefix}restore archive of ${manifest.root}`;
    case 'restore-database':
      return `${prefix}restore database snapshot (${manifest.rollback.database})`;
    case 'switch-back':
      return `${prefix}stop services and switch back to ${running ? (running.previous ?? 'nothing') : 'the previous release'}`;
  }
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
    if (planned.some((p) => p.action === 'run-step' && reads(manifest.steps[p.step.phase][p.step.index], name)))
      continue;
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
  const inPlace = manifest.strategy === 'in-place';
  const requireApproval = input.requireApproval ?? manifest.approval.required;
  const databaseSnapshot = manifest.steps.migrate.length > 0 && manifest.snapshot.database !== undefined;
  const hosts = manifest.hosts.map((host) => {
    const prefix = hostPrefix(manifest, host);
    const steps: PlannedStep[] = [];
    // The first change on a host registers the undo that runs last there: start the previous version.
    let changed = false;
    const change = (undo: UndoAction[]): UndoAction[] => {
      if (changed) return undo;
      changed = true;
      return ['start-previous', ...undo];
    };
    type Variant = DistributiveOmit<PlannedStep, 'phase' | 'name' | 'undo'>;
    const add = (phase: PlannedPhase, name: string, variant: Variant, undo: UndoAction[] = []) =>
      steps.push({ phase, name: `${prefix}${name}`, undo, ...variant } as PlannedStep);
    const addSteps = (phase: StepPhase) =>
      manifest.steps[phase].forEach((step, index) => {
        if (!stepRuns(step, params)) return;
        const startToCloseTimeoutMs = step.timeout ? durationMs(step.timeout) + 60_000 : undefined;
        add(
          phase,
          `${phase}: ${stepLabel(step)}`,
          {
            action: 'run-step',
            group: 'step',
            step: { phase, index, run: step.run, shell: step.shell },
            ...(startToCloseTimeoutMs ? { startToCloseTimeoutMs } : {}),
          },
          // A migration may change the database even when it fails half-way.
          phase === 'migrate' ? change([]) : [],
        );
      });
    // A manifest recorded in a history from before `approval.before` existed has no such field.
    const gateBefore = manifest.approval.before ?? 'switch';
    // The gate waits in the workflow itself and runs no activity: its group is the workflow's own.
    const gate = (before: Manifest['approval']['before']) => {
      if (requireApproval && gateBefore === before)
        add('approval', 'approval', { action: 'approval', group: 'orchestration' });
    };

    add('preflight', 'preflight: required environment', { action: 'check-environment', group: 'host' });
    manifest.dependencies.forEach((check, index) =>
      add('preflight', `preflight: ${checkLabel(check)}`, {
        action: 'check-dependency',
        group: 'dependency',
        check: index,
      }),
    );
    addSteps('preflight');
    if (inPlace) {
      add(
        'snapshot',
        manifest.snapshot.files === false
          ? `snapshot: copy ${manifest.root} for the rollback (no zip)`
          : `snapshot: archive ${manifest.root}`,
        { action: 'archive-live-folder', group: 'files' },
        change(['restore-archive']),
      );
      add('switch', 'stop services', { action: 'stop-services', group: 'host' }, change([]));
      add(
        'update',
        `update: copy ${manifest.source.type === 'copy' ? manifest.source.from : ''} into ${manifest.root}`,
        { action: 'copy-into-place', group: 'files' },
      );
    } else {
      add('snapshot', 'snapshot: previous release', { action: 'find-previous-release', group: 'host' });
      add('update', `update: release ${releaseId} from ${input.ref}`, { action: 'prepare-release', group: 'release' });
      // `build` without `code` was accepted (and ignored) before images were built: such manifests, kept in
      // histories, still plan no build.
      if (manifest.source.type === 'image' && manifest.source.build && manifest.source.code)
        add('update', `update: build image ${manifest.source.image}:${releaseId}`, {
          action: 'build-image',
          group: 'image',
        });
    }
    gate('install');
    addSteps('install');
    gate('migrate');
    if (databaseSnapshot)
      add(
        'snapshot',
        'snapshot database',
        { action: 'snapshot-database', group: 'database' },
        change(manifest.rollback.database !== 'never' ? ['restore-database'] : []),
      );
    addSteps('migrate');
    gate('build');
    addSteps('build');
    gate('seed');
    if (input.seed) addSteps('seed');
    gate('switch');
    if (!inPlace) {
      add('switch', 'stop services', { action: 'stop-services', group: 'host' }, change(['switch-back']));
      add('switch', `switch current → ${releaseId}`, { action: 'switch-current', group: 'host' });
    }
    add('switch', 'start services', { action: 'start-services', group: 'host' });
    manifest.health.checks.forEach((check, index) =>
      add('health', `health: ${checkLabel(check)}`, { action: 'health-check', group: 'health', check: index }),
    );
    if (manifest.health.bake) add('health', bakeStepName(manifest.health.bake), { action: 'bake', group: 'bake' });
    return { host, steps };
  });

  const finish = manifest.hosts.map((host) => {
    const prefix = hostPrefix(manifest, host);
    const steps: PlannedStep[] = inPlace
      ? [{ phase: 'finish', name: `${prefix}prune old snapshots`, action: 'prune-in-place', group: 'files', undo: [] }]
      : [
          {
            phase: 'finish',
            name: `${prefix}mark release ${releaseId} good`,
            action: 'mark-release-good',
            group: 'host',
            undo: [],
          },
          { phase: 'finish', name: `${prefix}prune old releases`, action: 'prune-releases', group: 'host', undo: [] },
        ];
    return { host, steps };
  });

  checkParamsUsed(manifest, input, hosts[0]?.steps ?? []);

  const compensations = hosts
    .flatMap(({ host, steps }) => steps.flatMap((step) => step.undo.map((undo) => undoLabel(undo, manifest, host))))
    .reverse();

  const policy = input.onFailure ?? manifest.onFailure ?? 'rollback';
  return {
    app: manifest.app,
    ref: input.ref,
    strategy: manifest.strategy,
    hosts,
    finish,
    compensations,
    onFailure:
      policy === 'ask' ? { policy, decisionTimeout: manifest.decisionTimeout ?? '1h' } : { policy: 'rollback' },
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

/** Omit over each member of a union, keeping it a union (TypeScript's Omit merges the members). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
