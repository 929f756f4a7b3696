/**
 * The CLI reads the same manifests as the workers (RUNBOOK_MANIFESTS, default ./apps) to refuse bad input
 * before anything starts: an unknown app, job, mode, backup target or param is exit 2, not a failed run.
 */
import { checkDate } from '../common/dates';
import type { Manifest, ParamSpec } from '../manifest/types';
import { UsageError } from '../client/errors';

/** The app's manifest; the YAML and schema libraries load here, not when the CLI starts (`runbook --help`). */
export async function loadAppManifest(app: string, dir?: string): Promise<Manifest> {
  const { findManifest, manifestsDirFrom } = await import('../manifest/lookup');
  const found = findManifest(dir ?? manifestsDirFrom(), app);
  if (found.ok) return found.manifest;
  throw new UsageError(
    found.reason === 'bad-name' ? `<app> ${found.message}` : found.message,
    found.hint,
    found.details,
  );
}

/**
 * The backup targets a backup or drill of `app` runs: its manifest's, or the one `--target` names. `none` says
 * what to do when the manifest has no targets.
 */
export function checkBackupTarget(
  manifest: Manifest,
  target: string | undefined,
  none: { problem: string; hint: string },
) {
  const targets = manifest.backups?.targets.map((t) => t.name) ?? [];
  if (targets.length === 0)
    throw new UsageError(`app ${manifest.app} has no backups.targets in its manifest${none.problem}`, none.hint);
  if (target && !targets.includes(target))
    throw new UsageError(
      `--target '${target}' is not a backup target of ${manifest.app}`,
      `its targets are: ${targets.join(', ')}`,
    );
}

/** Collects repeated `--param key=value` options into a record (commander's option parser). */
export function collectParam(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new UsageError(`--param '${value}' is not key=value`, 'write it as --param tenantId=acme');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** Checks --param values against the manifest's params: known names, required ones present, patterns met. */
export function checkParams(specs: Record<string, ParamSpec>, given: Record<string, string>, where: string): void {
  const names = Object.keys(specs);
  for (const key of Object.keys(given)) {
    if (!specs[key])
      throw new UsageError(
        `--param ${key}: ${where} has no param '${key}'`,
        names.length > 0 ? `its params are: ${names.join(', ')}` : `${where} takes no params`,
      );
    const pattern = specs[key].pattern;
    if (pattern && !new RegExp(`^(?:${pattern})$`).test(given[key]))
      throw new UsageError(
        `--param ${key}=${given[key]} does not match /${pattern}/`,
        specs[key].description ?? `give a value matching ${pattern}`,
      );
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.required && spec.default === undefined && given[key] === undefined)
      throw new UsageError(
        `--param ${key} is required by ${where}`,
        `add --param ${key}=<value>${spec.description ? ` (${spec.description})` : ''}`,
      );
  }
}

/** The date an option gives, checked by the one date rule; a bad one is a usage error naming the option. */
export function dateOption(value: string, option: string): string {
  return checkDate(value, (problem, fix) => new UsageError(`${option} ${problem}`, fix));
}
