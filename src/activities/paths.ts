import path from 'node:path';
import type { Manifest } from '../manifest/types';

/**
 * Where an app's files live on its host.
 * releases strategy:  <root>/releases/<id>, <root>/current -> releases/<id>, <root>/shared, <root>/.runbook
 * in-place strategy:  <root> is the live folder itself; Runbook's own state, the deploy log included, sits
 *                     beside it in <root>.runbook, so restoring an archive of <root> never rewinds pid files,
 *                     step markers or the log.
 */
export interface AppPaths {
  root: string;
  releasesDir: string;
  current: string;
  sharedDir: string;
  /** Runbook's own state: pid files, step markers, snapshots. */
  stateDir: string;
  runDir: string;
  snapshotsDir: string;
  archiveDir: string;
  deployLog: string;
  /** Where in-place apps kept their deploy log before it moved beside the live folder (read, then moved). */
  formerDeployLog?: string;
}

export function appPaths(manifest: Pick<Manifest, 'root' | 'strategy' | 'app' | 'snapshot'>): AppPaths {
  const root = manifest.root;
  const stateDir =
    manifest.strategy === 'in-place' ? `${root.replace(/\/+$/, '')}.runbook` : path.join(root, '.runbook');
  return {
    root,
    releasesDir: path.join(root, 'releases'),
    current: path.join(root, 'current'),
    sharedDir: path.join(root, 'shared'),
    stateDir,
    runDir: path.join(stateDir, 'run'),
    snapshotsDir: path.join(stateDir, 'snapshots'),
    archiveDir: manifest.snapshot.archiveDir ?? path.join(stateDir, 'archives'),
    deployLog:
      manifest.strategy === 'in-place' ? path.join(stateDir, 'deploy_log.jsonl') : path.join(root, 'deploy_log.jsonl'),
    ...(manifest.strategy === 'in-place' ? { formerDeployLog: path.join(root, 'deploy_log.jsonl') } : {}),
  };
}

/** The folder the running version serves from. */
export function liveDir(manifest: Pick<Manifest, 'root' | 'strategy' | 'app' | 'snapshot'>): string {
  const paths = appPaths(manifest);
  return manifest.strategy === 'in-place' ? paths.root : paths.current;
}

/** A manifest path: absolute as written, otherwise relative to `base` (default the live folder). */
export function resolveAppPath(
  manifest: Pick<Manifest, 'root' | 'strategy' | 'app' | 'snapshot'>,
  file: string,
  base?: string,
): string {
  return path.isAbsolute(file) ? file : path.join(base ?? liveDir(manifest), file);
}

export function releaseDir(
  manifest: Pick<Manifest, 'root' | 'strategy' | 'app' | 'snapshot'>,
  releaseId: string,
): string {
  return path.join(appPaths(manifest).releasesDir, releaseId);
}
