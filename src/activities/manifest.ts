import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { describeProblem, loadManifestFile } from '../manifest/load';
import type { Manifest } from '../manifest/types';
import type { ActivityConfig } from './config';

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

export function manifestActivities(config: ActivityConfig) {
  return {
    /**
     * Loads and validates an app's manifest on the worker. The result lands in history for on-call to
     * read; it holds environment-variable names only, never their values.
     */
    async loadManifest(app: string): Promise<Manifest> {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(app))
        throw ApplicationFailure.nonRetryable(
          `app '${app}' is not a valid app name (lowercase letters, digits, dashes)`,
          'BadInput',
        );
      const file = manifestPath(config.manifestsDir, app);
      if (!file) {
        const known = listManifestFiles(config.manifestsDir).map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
        throw ApplicationFailure.nonRetryable(
          `no manifest for app '${app}' in ${config.manifestsDir} (RUNBOOK_MANIFESTS); known apps: ${known.join(', ') || 'none'}`,
          'ManifestNotFound',
        );
      }
      const result = loadManifestFile(file);
      if (!result.ok) {
        throw ApplicationFailure.nonRetryable(
          `manifest ${file} is invalid; fix it and start again:\n${result.problems.map((p) => describeProblem(file, p)).join('\n')}`,
          'InvalidManifest',
        );
      }
      if (result.manifest.app !== app)
        throw ApplicationFailure.nonRetryable(
          `${file} declares app '${result.manifest.app}', expected '${app}'; rename the file or fix app:`,
          'InvalidManifest',
        );
      return result.manifest;
    },
  };
}
