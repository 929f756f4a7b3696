import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../src/activities';
import { imageActivities } from '../../src/activities/images';
import { writeReleaseInfo } from '../../src/activities/release-info';
import { releaseActivities } from '../../src/activities/releases';
import { parseManifest } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { waitFor } from '../support/postgres';
import { seedDocker, seedScratchDir } from '../support/seed-services';
import { uniqueName } from '../support/temporal';

// The images of an image app's releases on the seed suite's real Docker engine: built once per release,
// refused when the compose file would run another tag, removed with their releases.
jest.setTimeout(180_000);

describe('release images on a real Docker engine', () => {
  const { docker, env: dockerEnv, baseImage } = seedDocker();
  const config = activityConfigFromEnv({ ...process.env, ...dockerEnv });
  const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;
  const image = uniqueName('imgapp');
  const dir = seedScratchDir(image);
  const root = path.join(dir, 'app');

  const manifestOf = (extra = ''): Manifest => {
    const parsed = parseManifest(
      `app: ${image}\nhost: h\nroot: ${root}\nreleases: { keep: 2 }\n` +
        `source: { type: image, image: ${image}, code: { type: copy, from: ${dir}/staging }, build: { file: Dockerfile } }\n` +
        `services: [ { name: stack, type: compose, file: compose.yml, services: [app] } ]\n${extra}`,
    );
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
    return parsed.manifest;
  };
  const release = async (manifest: Manifest, id: string, compose: string) => {
    const folder = path.join(root, 'releases', id);
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'Dockerfile'), `FROM ${baseImage}\nRUN echo ${id} > /release\n`);
    writeFileSync(path.join(folder, 'compose.yml'), compose);
    await writeReleaseInfo(folder, {
      id,
      ref: `v-${id}`,
      source: manifest.source.type,
      createdAt: new Date().toISOString(),
      workflowId: 'w',
      runId: 'r',
      status: 'good',
    });
  };
  const tags = async () =>
    (await docker(['image', 'ls', image, '--format', '{{.Tag}}'])).trim().split('\n').filter(Boolean).sort();
  const perRelease = `services:\n  app:\n    image: ${image}:\${IMAGE_TAG}\n`;

  afterAll(async () => {
    for (const tag of await tags()) await docker(['image', 'rm', '--force', `${image}:${tag}`]).catch(() => undefined);
  });

  it('builds <image>:<release> once, labelled; a retry keeps the image it finds', async () => {
    const manifest = manifestOf();
    await release(manifest, 'r1', perRelease);
    const images = imageActivities(config);
    expect(await run(() => images.buildImage({ manifest, releaseId: 'r1' }))).toEqual({
      image: `${image}:r1`,
      reused: false,
    });
    expect((await docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', `${image}:r1`])).trim()).toContain(
      `"runbook.release":"r1"`,
    );
    expect(await run(() => images.buildImage({ manifest, releaseId: 'r1' }))).toEqual({
      image: `${image}:r1`,
      reused: true,
    });
  });

  it('refuses a compose file that pins another tag, naming the fix', async () => {
    const manifest = manifestOf();
    await release(manifest, 'r2', `services:\n  app:\n    image: ${image}:latest\n`);
    await expect(run(() => imageActivities(config).buildImage({ manifest, releaseId: 'r2' }))).rejects.toThrow(
      `compose.yml runs app: ${image}:latest, not this release's image ${image}:r2; write image: ${image}:\${IMAGE_TAG} in those services`,
    );
  });

  it('a failing build says so and what to fix', async () => {
    const manifest = manifestOf();
    await release(manifest, 'r3', perRelease);
    writeFileSync(path.join(root, 'releases', 'r3', 'Dockerfile'), `FROM ${baseImage}\nRUN exit 3\n`);
    await expect(run(() => imageActivities(config).buildImage({ manifest, releaseId: 'r3' }))).rejects.toThrow(
      /docker build of .*:r3 exited with status 3:[\s\S]*returned a non-zero code: 3\nfix the Dockerfile or the build context \(source.build\)/,
    );
  });

  it('a build whose attempt is cancelled ends in the engine too: no build container keeps running, no tag', async () => {
    const manifest = manifestOf();
    await release(manifest, 'r5', perRelease);
    writeFileSync(path.join(root, 'releases', 'r5', 'Dockerfile'), `FROM ${baseImage}\nRUN sleep 60\n`);
    const building = async () =>
      (await docker(['ps', '--no-trunc', '--format', '{{.Command}}']))
        .split('\n')
        .filter((c) => c.includes('sleep 60'));
    const env = new MockActivityEnvironment();
    const build = (
      env.run(() => imageActivities(config).buildImage({ manifest, releaseId: 'r5' })) as Promise<unknown>
    ).catch((e: unknown) => e);
    await waitFor(async () => expect(await building()).toHaveLength(1), 60_000, 250);
    env.cancel();
    await build;
    await waitFor(async () => expect(await building()).toEqual([]), 15_000, 250);
    expect(await tags()).not.toContain('r5');
  });

  it('prunes old releases with their images, keeping the current one and the newest good', async () => {
    const manifest = manifestOf();
    for (const id of ['r2', 'r4']) {
      await release(manifest, id, perRelease);
      await run(() => imageActivities(config).buildImage({ manifest, releaseId: id }));
    }
    expect(await tags()).toEqual(['r1', 'r2', 'r4']);
    await run(() => releaseActivities(config).switchCurrent({ manifest, releaseId: 'r4' }));
    const gone = await run(() => releaseActivities(config).pruneReleases({ manifest }));
    expect(gone).toEqual(['r1', 'r2', 'r3']);
    expect(await tags()).toEqual(['r4']);
  });
});
