import { failure, type FailureType } from '../common/failures';
import { findManifest, type ManifestProblem } from '../manifest/lookup';
import type { Manifest } from '../manifest/types';
import type { ActivityConfig } from './config';

const FAILURE_OF: Record<ManifestProblem['reason'], FailureType> = {
  'bad-name': 'BadInput',
  'not-found': 'ManifestNotFound',
  invalid: 'InvalidManifest',
  'wrong-app': 'InvalidManifest',
};

export function manifestActivities(config: ActivityConfig) {
  return {
    /**
     * Loads and validates an app's manifest on the worker. The result lands in history for on-call to
     * read; it holds environment-variable names only, never their values.
     */
    async loadManifest(app: string): Promise<Manifest> {
      const found = findManifest(config.manifestsDir, app);
      if (found.ok) return found.manifest;
      const message = found.reason === 'bad-name' ? `app ${found.message}` : found.message;
      throw failure(FAILURE_OF[found.reason], [`${message}; ${found.hint}`, ...found.details].join('\n'));
    },
  };
}
