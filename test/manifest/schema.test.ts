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
