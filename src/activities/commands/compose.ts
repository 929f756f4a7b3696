/** argv for `docker compose` on named services of one compose file. */
export interface ComposeTarget {
  file: string;
  project?: string;
  services: string[];
  /** The app's environment for its services (env.file's values and required names), for interpolation. */
  envFile?: string;
}

function base(target: ComposeTarget): string[] {
  return [
    'docker',
    'compose',
    '-f',
    target.file,
    ...(target.project ? ['-p', target.project] : []),
    ...(target.envFile ? ['--env-file', target.envFile] : []),
  ];
}

export function composeUpArgv(target: ComposeTarget): string[] {
  return [...base(target), 'up', '-d', '--remove-orphans', ...target.services];
}

export function composeStopArgv(target: ComposeTarget): string[] {
  return [...base(target), 'stop', ...target.services];
}

export function composePsArgv(target: ComposeTarget): string[] {
  return [...base(target), 'ps', '--status', 'running', '--quiet', ...target.services];
}

/** The compose file as Compose reads it (variables such as ${IMAGE_TAG} filled in), as JSON. */
export function composeConfigArgv(target: ComposeTarget): string[] {
  return [...base(target), 'config', '--format', 'json'];
}
