import path from 'node:path';
import type { Manifest, Service } from '../manifest/types';
import type { ActivityConfig } from './config';
import { composeConfigArgv } from './commands/compose';
import { dockerBuildArgv, dockerImageIdArgv, dockerImageRemoveArgv } from './commands/docker';
import { commandEnvironment, secretValues } from './environment';
import { failure } from '../common/failures';
import { releaseDir } from '../common/names';
import { readReleaseInfo } from './release-info';
import { describeFailure, runCommand } from './shell';

/*
 * Image apps: each release folder holds the ref's files (compose file, build context); a built image is tagged
 * <image>:<release id>, so migrations, the switch and jobs run the release's own image and a rollback the
 * previous release's, never whatever `latest` happens to be.
 */

type ImageSource = Extract<Manifest['source'], { type: 'image' }>;
type ComposeService = Extract<Service, { type: 'compose' }>;

/** The tag a release runs: its id for a built image, the deployed ref for a pulled one. */
export function releaseImage(source: ImageSource, release: { id: string; ref: string }): string {
  return `${source.image}:${source.build ? release.id : release.ref}`;
}

/** The compose project of the app: the one its compose services run in (`project`, default the app's name). */
export function composeProject(manifest: Pick<Manifest, 'app' | 'services'>): string | undefined {
  const service = manifest.services.find((s): s is ComposeService => s.type === 'compose');
  return service ? (service.project ?? manifest.app) : undefined;
}

/**
 * What a release's commands (steps, jobs, compose) see of it: ${IMAGE_TAG} and ${RUNBOOK_IMAGE} for the compose
 * file, and COMPOSE_PROJECT_NAME, so that `docker compose run` in a release folder joins the app's project (its
 * network, its database) instead of making one named after the folder.
 */
export function releaseEnvironment(
  manifest: Pick<Manifest, 'app' | 'services' | 'source'>,
  release: { id: string; ref: string } | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  const project = composeProject(manifest);
  if (project) env.COMPOSE_PROJECT_NAME = project;
  if (manifest.source.type === 'image' && release) {
    const image = releaseImage(manifest.source, release);
    env.RUNBOOK_IMAGE = image;
    env.IMAGE_TAG = image.slice(manifest.source.image.length + 1);
  }
  return env;
}

/** The images a compose file's services run, from `docker compose config --format json`. Pure. */
export function composeServiceImages(configJson: string): Record<string, string | undefined> {
  const config = JSON.parse(configJson) as { services?: Record<string, { image?: string }> };
  return Object.fromEntries(Object.entries(config.services ?? {}).map(([name, s]) => [name, s.image]));
}

export function imageActivities(config: ActivityConfig) {
  return {
    /**
     * Builds the release's image from its folder (`docker build`, tagged <image>:<release id>) and checks that
     * the compose services run that image. A retry finds an image already built for the release and keeps it;
     * a killed build's docker CLI dies with its attempt, which ends the build in the engine.
     */
    async buildImage(request: { manifest: Manifest; releaseId: string }): Promise<{ image: string; reused: boolean }> {
      const { manifest, releaseId } = request;
      const source = manifest.source;
      if (source.type !== 'image' || !source.build)
        throw failure('BadManifest', `${manifest.app} builds no image: its manifest has no source.build`);
      const dir = releaseDir(manifest, releaseId);
      const info = readReleaseInfo(dir);
      if (!info)
        throw failure(
          'UnknownRelease',
          `release ${releaseId} does not exist in ${path.dirname(dir)}; it is prepared before its image is built`,
        );
      const image = releaseImage(source, info);
      const env = { ...commandEnvironment(manifest, config.env), ...releaseEnvironment(manifest, info) };
      const redact = secretValues(manifest, config.env);
      const exists = await runCommand({ argv: dockerImageIdArgv(image), env, timeoutMs: 60_000 });
      let reused = exists.exitCode === 0;
      if (!reused) {
        const argv = dockerBuildArgv({
          tag: image,
          context: source.build.context,
          file: source.build.file,
          labels: { 'runbook.app': manifest.app, 'runbook.release': releaseId, 'runbook.ref': info.ref },
        });
        const result = await runCommand({
          argv,
          cwd: dir,
          env,
          redact,
          lease: `${manifest.app}/deploys/${releaseId}/build-image`,
        });
        if (result.exitCode !== 0)
          throw failure(
            'ImageBuildFailed',
            `${describeFailure(result, `docker build of ${image}`)}\nfix the Dockerfile or the build context (source.build) and deploy again`,
          );
      }
      for (const service of manifest.services)
        if (service.type === 'compose') await checkComposeRunsImage(service, dir, env, image, manifest);
      reused = reused && exists.stdoutTail.trim() !== '';
      return { image, reused };
    },
  };
}

/** A compose file that pins another tag (secretaria-app:latest) would run the wrong release: said before the switch. */
async function checkComposeRunsImage(
  service: ComposeService,
  dir: string,
  env: NodeJS.ProcessEnv,
  image: string,
  manifest: Manifest,
): Promise<void> {
  const file = path.resolve(dir, service.file);
  const result = await runCommand({
    argv: composeConfigArgv({ file, project: service.project ?? manifest.app, services: service.services }),
    cwd: dir,
    env,
    tailBytes: 1024 * 1024,
    timeoutMs: 60_000,
  });
  if (result.exitCode !== 0)
    throw failure('ComposeMismatch', describeFailure(result, `docker compose config of ${file}`));
  const images = composeServiceImages(result.stdoutTail);
  const wrong = service.services.filter((name) => images[name] !== image);
  if (wrong.length > 0)
    throw failure(
      'ComposeMismatch',
      `${service.file} runs ${wrong.map((name) => `${name}: ${images[name] ?? 'no image'}`).join(', ')}, not this release's image ${image}; ` +
        `write image: ${manifest.source.type === 'image' ? manifest.source.image : ''}:\${IMAGE_TAG} in those services so each release runs its own image`,
    );
}

/**
 * Removes the images of pruned releases (a release's tag goes with its folder). Returns what could not be removed
 * (an image a container still uses), which pruning reports but does not fail on.
 */
export async function removeReleaseImages(
  manifest: Manifest,
  releases: Array<{ id: string; ref: string }>,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const source = manifest.source;
  if (source.type !== 'image' || !source.build) return [];
  const problems: string[] = [];
  for (const release of releases) {
    const image = releaseImage(source, release);
    const result = await runCommand({ argv: dockerImageRemoveArgv(image), env, timeoutMs: 120_000 });
    const output = `${result.stderrTail}${result.stdoutTail}`;
    if (result.exitCode !== 0 && !/no such image/i.test(output))
      problems.push(describeFailure(result, `remove ${image}`));
  }
  return problems;
}
