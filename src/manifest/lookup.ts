/** Where app manifests are found: `<dir>/<app>.yaml` (or .yml), the folder RUNBOOK_MANIFESTS names. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadManifestFile } from './load';
import type { Manifest } from './types';

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
