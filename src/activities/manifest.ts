import { ApplicationFailure } from '@temporalio/activity';
import { describeProblem, loadManifestFile } from '../manifest/load';
import { knownApps, manifestPath } from '../manifest/lookup';
import type { Manifest } from '../manifest/types';
import type { ActivityConfig } from './config';

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
        const known = knownApps(config.manifestsDir);
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
