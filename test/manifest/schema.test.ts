import { parseManifest } from '../../src/manifest/load';

const BASE = 'app: demo\nhost: web-1\nroot: /srv/demo\nsource: { type: git, repo: /srv/git/demo.git }\n';

function problems(yaml: string): string[] {
  const result = parseManifest(yaml);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('manifest fields the seed guides need', () => {
  it('shared: relative paths inside the release, each listed once, for releases apps only', () => {
    expect(problems(`${BASE}shared: { files: [.env, config/app.ini], dirs: [logs, Datasets] }\n`)).toEqual([]);
    expect(problems(`${BASE}shared: { files: [/etc/app.ini], dirs: ['../logs', 'logs/'] }\n`)).toEqual([
      'shared.files[0]: expected a path inside the release such as logs or config/.env (relative, no .., no trailing /)',
      'shared.dirs[0]: expected a path inside the release such as logs or config/.env (relative, no .., no trailing /)',
      'shared.dirs[1]: expected a path inside the release such as logs or config/.env (relative, no .., no trailing /)',
    ]);
    expect(problems(`${BASE}shared: { files: [logs/app.log], dirs: [logs] }\n`)).toEqual([
      "shared.files[0]: 'logs/app.log' is inside the shared folder 'logs'; list each shared path once",
    ]);
    expect(
      problems(
        'app: demo\nhost: web-1\nroot: /srv/demo\nstrategy: in-place\nsource: { type: copy, from: /srv/s }\nshared: { dirs: [logs] }\n',
      ),
    ).toEqual([
      'shared: an in-place app keeps every file in its live folder: shared paths apply to strategy: releases',
    ]);
  });

  it('when: names declared params; approval.before names a phase', () => {
    expect(
      problems(
        `${BASE}params: { fakeApp: {} }\nsteps: { migrate: [ { run: [m, '{{fakeApp}}'], when: { params: [fakeApp, other] } } ] }\n`,
      ),
    ).toEqual(["steps.migrate[0].when.params[1]: no param named 'other' in params; declare it there (known: fakeApp)"]);
    expect(problems(`${BASE}approval: { required: true, before: migrate }\n`)).toEqual([]);
    expect(problems(`${BASE}approval: { before: health }\n`)[0]).toMatch(/^approval\.before: /);
  });

  it('snapshot.files is for in-place apps: a releases app keeps its previous release instead', () => {
    expect(problems(`${BASE}snapshot: { files: true }\n`)).toEqual([
      'snapshot.files: a releases app keeps its previous release as its snapshot; snapshot.files (a zip of the live folder) applies to strategy: in-place — remove it',
    ]);
  });
});

describe('image sources: the release carries the code, the image is built from it', () => {
  const IMAGE = 'app: demo\nhost: web-1\nroot: /srv/demo\n';
  it('code is a git repository or a staging folder; build needs it; the image name has no tag', () => {
    expect(
      problems(
        `${IMAGE}source: { type: image, image: demo-app, code: { type: git, repo: /srv/git/demo.git }, build: { file: docker/Dockerfile } }\n`,
      ),
    ).toEqual([]);
    expect(
      problems(
        `${IMAGE}source: { type: image, image: demo-app, code: { type: copy, from: /srv/staging }, build: {} }\n`,
      ),
    ).toEqual([]);
    expect(problems(`${IMAGE}source: { type: image, image: demo-app, build: { context: . } }\n`)).toEqual([
      "source.build: an image is built from the release's files: add source.code ({ type: git, repo: … } or { type: copy, from: … })",
    ]);
    expect(problems(`${IMAGE}source: { type: image, image: 'demo-app:latest' }\n`)).toEqual([
      'source.image: expected an image name without a tag (each release gets its own tag); remove the :tag',
    ]);
    expect(problems(`${IMAGE}source: { type: image, image: 'registry.local:5000/demo-app' }\n`)).toEqual([]);
    expect(problems(`${IMAGE}source: { type: image, image: demo-app, code: { type: git } }\n`)).toEqual([
      'source.code.repo: give exactly one of repo (a plain URL or path) or repoEnv (a variable holding it)',
    ]);
    expect(problems(`${IMAGE}source: { type: image, image: demo-app, code: { type: svn, url: x } }\n`)).toEqual([
      'source.code.type: expected source.code.type to be git or copy',
    ]);
    expect(
      problems(
        `${IMAGE}source: { type: image, image: demo-app, code: { type: copy, from: /s }, build: { file: /etc/Dockerfile } }\n`,
      ),
    ).toEqual([
      'source.build.file: expected a path inside the release such as logs or config/.env (relative, no .., no trailing /)',
    ]);
  });

  it("compose services say where the host reaches the project's services (published host:port)", () => {
    const compose = (published: string) =>
      `${IMAGE}source: { type: image, image: demo-app }\nservices: [ { name: stack, type: compose, services: [app], published: ${published} } ]\n`;
    expect(problems(compose("{ postgres: '127.0.0.1:5432', redis: 'localhost:6379' }"))).toEqual([]);
    expect(problems(compose("{ postgres: '5432' }"))).toEqual([
      'services[0].published.postgres: expected the published host:port such as 127.0.0.1:5432',
    ]);
  });
});
