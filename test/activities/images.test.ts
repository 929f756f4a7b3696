import { composeServiceImages, releaseEnvironment, releaseImage } from '../../src/activities/images';
import { parseManifest } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';

function manifest(yaml: string): Manifest {
  const parsed = parseManifest(`app: secretaria\nhost: h\nroot: /srv/secretaria\n${yaml}`);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return parsed.manifest;
}

describe("a release's image and what its commands see of it", () => {
  const built = manifest(
    'source: { type: image, image: secretaria-app, code: { type: copy, from: /s }, build: {} }\n' +
      'services: [ { name: stack, type: compose, file: docker-compose.prod.yml, services: [app, worker] } ]\n',
  );
  const pulled = manifest(
    'source: { type: image, image: registry.local:5000/secretaria-app }\n' +
      'services: [ { name: stack, type: compose, project: sv, services: [app] } ]\n',
  );
  const release = { id: '20261130T080000Z-1a2b3c4d', ref: 'v2.4' };

  it('a built image is tagged with the release id, a pulled one is the deployed ref', () => {
    expect(releaseImage(built.source as Extract<Manifest['source'], { type: 'image' }>, release)).toBe(
      'secretaria-app:20261130T080000Z-1a2b3c4d',
    );
    expect(releaseImage(pulled.source as Extract<Manifest['source'], { type: 'image' }>, release)).toBe(
      'registry.local:5000/secretaria-app:v2.4',
    );
  });

  it("steps, jobs and compose get the release's tag and the app's compose project", () => {
    expect(releaseEnvironment(built, release)).toEqual({
      COMPOSE_PROJECT_NAME: 'secretaria',
      IMAGE_TAG: '20261130T080000Z-1a2b3c4d',
      RUNBOOK_IMAGE: 'secretaria-app:20261130T080000Z-1a2b3c4d',
    });
    expect(releaseEnvironment(pulled, release)).toEqual({
      COMPOSE_PROJECT_NAME: 'sv',
      IMAGE_TAG: 'v2.4',
      RUNBOOK_IMAGE: 'registry.local:5000/secretaria-app:v2.4',
    });
    // before a release exists (preflight) only the project is known
    expect(releaseEnvironment(built, undefined)).toEqual({ COMPOSE_PROJECT_NAME: 'secretaria' });
    expect(releaseEnvironment(manifest('source: { type: git, repo: /r }\n'), release)).toEqual({});
  });

  it('reads the image of each service from docker compose config --format json', () => {
    const json = JSON.stringify({
      name: 'secretaria',
      services: {
        app: { image: 'secretaria-app:r1', command: ['gunicorn'] },
        postgres: { build: { context: '.' } },
      },
    });
    expect(composeServiceImages(json)).toEqual({ app: 'secretaria-app:r1', postgres: undefined });
  });
});
