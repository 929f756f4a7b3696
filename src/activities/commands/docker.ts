/** argv for building, finding and removing the images of an image app's releases. */

export interface ImageBuild {
  /** `<image>:<release id>`. */
  tag: string;
  /** Build context and Dockerfile, relative to the release folder the build runs in. */
  context: string;
  file?: string;
  /** Labels that say which app and release the image belongs to. */
  labels: Record<string, string>;
}

export function dockerBuildArgv(build: ImageBuild): string[] {
  return [
    'docker',
    'build',
    '--tag',
    build.tag,
    ...(build.file ? ['--file', build.file] : []),
    ...Object.entries(build.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    '--',
    build.context,
  ];
}

/** Prints the image's id when it exists (exit 1 when it does not). */
export function dockerImageIdArgv(tag: string): string[] {
  return ['docker', 'image', 'inspect', '--format', '{{.Id}}', '--', tag];
}

/** Removes a release's tag (and the image, when no other tag or container holds it). */
export function dockerImageRemoveArgv(tag: string): string[] {
  return ['docker', 'image', 'rm', '--', tag];
}
