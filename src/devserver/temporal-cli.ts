import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The project's own install folder (git-ignored), filled by `make setup` from PyPI. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const PROJECT_TEMPORAL_CLI = path.join(PROJECT_ROOT, '.tools', 'temporal', 'bin', 'temporal');

export type TemporalCli =
  { kind: 'path'; path: string; from: 'TEMPORAL_CLI_PATH' | 'PATH' | 'project' } | { kind: 'download' };

/**
 * Where the Temporal CLI comes from, in order: TEMPORAL_CLI_PATH, `temporal` on PATH, the project's pinned
 * install (.tools/), and last the SDK's own download (works on a connected machine only).
 */
export function resolveTemporalCli(env: NodeJS.ProcessEnv = process.env): TemporalCli {
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH))
      throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file; fix the path or unset it`);
    return { kind: 'path', path: env.TEMPORAL_CLI_PATH, from: 'TEMPORAL_CLI_PATH' };
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'temporal');
    if (isExecutable(candidate)) return { kind: 'path', path: candidate, from: 'PATH' };
  }
  if (isExecutable(PROJECT_TEMPORAL_CLI)) return { kind: 'path', path: PROJECT_TEMPORAL_CLI, from: 'project' };
  return { kind: 'download' };
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
