/**
 * The CLI reads the same manifests as the workers (RUNBOOK_MANIFESTS, default ./apps) to refuse bad input
 * before anything starts: an unknown app, job, mode, backup target or param is exit 2, not a failed run.
 */
import path from 'node:path';
import { describeProblem, loadManifestFile } from '../manifest/load';
import { knownApps, manifestPath } from '../manifest/lookup';
import type { Manifest, ParamSpec } from '../manifest/types';
import { UsageError } from '../client/errors';

export function manifestsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.RUNBOOK_MANIFESTS ?? 'apps');
}

export function loadAppManifest(app: string, dir: string = manifestsDir()): Manifest {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(app))
    throw new UsageError(
      `<app> '${app}' is not a valid app name`,
      'app names are lowercase letters, digits and dashes, as in the manifest',
    );
  const file = manifestPath(dir, app);
  if (!file) {
    const known = knownApps(dir);
    throw new UsageError(
      `no manifest for app '${app}' in ${dir}`,
      known.length > 0
        ? `known apps: ${known.join(', ')}`
        : 'put <app>.yaml there or point RUNBOOK_MANIFESTS at your manifests folder',
    );
  }
  const result = loadManifestFile(file);
  if (!result.ok)
    throw new UsageError(
      `manifest ${file} is invalid`,
      `fix it (runbook validate ${file}) and run again`,
      result.problems.map((p) => describeProblem(file, p)),
    );
  if (result.manifest.app !== app)
    throw new UsageError(
      `${file} declares app '${result.manifest.app}', not '${app}'`,
      'rename the file or fix its app: field',
    );
  return result.manifest;
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

/** YYYY-MM-DD that is a real calendar date. */
export function checkDate(value: string, option: string): string {
  const date = new Date(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value)
    throw new UsageError(`${option} '${value}' is not a date`, 'write dates as YYYY-MM-DD, e.g. 2025-01-31');
  return value;
}
