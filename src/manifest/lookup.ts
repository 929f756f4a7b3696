/** Where app manifests are found: `<dir>/<app>.yaml` (or .yml), the folder RUNBOOK_MANIFESTS names. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isName } from '../common/names';
import { describeProblem, loadManifestFile } from './load';
import type { Manifest } from './types';

/** The manifests folder: RUNBOOK_MANIFESTS, default ./apps (for the CLI and the workers alike). */
export function manifestsDirFrom(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.RUNBOOK_MANIFESTS ?? 'apps');
}

/** Finds `<app>.yaml` (or .yml) in the manifests folder. */
export function manifestPath(manifestsDir: string, app: string): string | undefined {
  for (const ext of ['.yaml', '.yml']) {
    const candidate = path.join(manifestsDir, `${app}${ext}`);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function listManifestFiles(manifestsDir: string): string[] {
  if (!existsSync(manifestsDir)) return [];
  return readdirSync(manifestsDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(manifestsDir, f));
}

/** The apps the folder has manifests for, by file name. */
export function knownApps(manifestsDir: string): string[] {
  return listManifestFiles(manifestsDir).map((file) => path.basename(file).replace(/\.ya?ml$/, ''));
}

/** Every valid manifest of the folder (the dev worker serves all their hosts). */
export function loadAllManifests(manifestsDir: string): Manifest[] {
  return listManifestFiles(manifestsDir).flatMap((file) => {
    const result = loadManifestFile(file);
    return result.ok ? [result.manifest] : [];
  });
}

/**
 * Why an app's manifest could not be used: what is wrong, what to do, and the manifest's own problems. A
 * bad name's message starts with the name: the caller says which field or argument held it.
 */
export interface ManifestProblem {
  ok: false;
  reason: 'bad-name' | 'not-found' | 'invalid' | 'wrong-app';
  message: string;
  hint: string;
  details: string[];
}

export type ManifestLookup = { ok: true; file: string; manifest: Manifest } | ManifestProblem;

/**
 * Finds and validates `<app>.yaml` in the folder. The one lookup of the CLI and the workers: each maps a
 * problem to its own error (a usage error, a non-retryable failure) with the same words.
 */
export function findManifest(manifestsDir: string, app: string): ManifestLookup {
  const problem = (reason: ManifestProblem['reason'], message: string, hint: string, details: string[] = []) =>
    ({ ok: false, reason, message, hint, details }) as const;
  if (!isName(app))
    return problem(
      'bad-name',
      `'${app}' is not a valid app name`,
      'app names are lowercase letters, digits and dashes, as in the manifest',
    );
  const file = manifestPath(manifestsDir, app);
  if (!file) {
    const known = knownApps(manifestsDir);
    return problem(
      'not-found',
      `no manifest for app '${app}' in ${manifestsDir} (RUNBOOK_MANIFESTS)`,
      known.length > 0
        ? `known apps: ${known.join(', ')}`
        : 'put <app>.yaml there or point RUNBOOK_MANIFESTS at your manifests folder',
    );
  }
  const result = loadManifestFile(file);
  if (!result.ok)
    return problem(
      'invalid',
      `manifest ${file} is invalid`,
      `fix it (runbook validate ${file}) and run again`,
      result.problems.map((p) => describeProblem(file, p)),
    );
  if (result.manifest.app !== app)
    return problem(
      'wrong-app',
      `${file} declares app '${result.manifest.app}', not '${app}'`,
      'rename the file or fix its app: field',
    );
  return { ok: true, file, manifest: result.manifest };
}
