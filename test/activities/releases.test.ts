import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../src/activities';
import { writeReleaseInfo } from '../../src/activities/release-info';
import { listReleases, releaseActivities, releasesToPrune, type ReleaseInfo } from '../../src/activities/releases';
import { appPaths } from '../../src/common/names';
import { parseManifest } from '../../src/manifest/load';

const release = (id: string, status: ReleaseInfo['status']): ReleaseInfo => ({
  id,
  ref: id,
  source: 'git',
  createdAt: '',
  workflowId: '',
  runId: '',
  status,
});

describe('release retention', () => {
  it('keeps N, deletes bad releases first, never the current or the newest good one', () => {
    const releases = [
      release('r1', 'good'),
      release('r2', 'bad'),
      release('r3', 'good'),
      release('r4', 'bad'),
      release('r5', 'good'),
    ];
    expect(releasesToPrune(releases, 3, 'r5')).toEqual(['r2', 'r4']);
    expect(releasesToPrune(releases, 2, 'r5')).toEqual(['r2', 'r4', 'r1']);
    // after a failed rollback `current` may be bad; the newest good release still survives
    const afterFailure = [release('r1', 'good'), release('r2', 'good'), release('r3', 'bad')];
    expect(releasesToPrune(afterFailure, 2, 'r3', ['r3'])).toEqual(['r1']);
    expect(releasesToPrune(afterFailure, 1, 'r3', ['r3'])).toEqual(['r1']);
  });
});

describe('releases from git', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-git-'));
  const repo = path.join(dir, 'repo');
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, ...args], {
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@e',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@e',
      },
    })
      .toString()
      .trim();
  mkdirSync(repo, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  writeFileSync(path.join(repo, 'app.py'), 'print("v1")\n');
  git('add', '.');
  git('commit', '-q', '-m', 'v1');
  git('tag', 'v1');
  const v1 = git('rev-parse', 'HEAD');
  writeFileSync(path.join(repo, 'app.py'), 'print("v2")\n');
  git('commit', '-qam', 'v2');
  const parsed = parseManifest(
    `app: gitapp\nhost: h\nroot: ${dir}/srv\nsource: { type: git, repo: ${repo}, allowedRefs: [main, "v*"] }\n`,
  );
  if (!parsed.ok) throw new Error('bad manifest');
  const manifest = parsed.manifest;
  const activities = releaseActivities(activityConfigFromEnv());
  const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;

  it('checks out a tag and a branch into release folders, through a local mirror', async () => {
    const tagged = await run(() => activities.prepareRelease({ manifest, releaseId: 'r1', ref: 'v1' }));
    expect(tagged).toMatchObject({ id: 'r1', ref: 'v1', commit: v1, status: 'ready', source: 'git' });
    expect(readFileSync(path.join(dir, 'srv', 'releases', 'r1', 'app.py'), 'utf8')).toBe('print("v1")\n');
    expect(existsSync(path.join(dir, 'srv', 'releases', 'r1', '.git'))).toBe(false);
    const branch = await run(() => activities.prepareRelease({ manifest, releaseId: 'r2', ref: 'main' }));
    expect(readFileSync(path.join(dir, 'srv', 'releases', 'r2', 'app.py'), 'utf8')).toBe('print("v2")\n');
    // a retry of a finished release finds it and changes nothing
    expect(await run(() => activities.prepareRelease({ manifest, releaseId: 'r2', ref: 'main' }))).toEqual(branch);
  });

  it('switches current atomically and reports the previous release', async () => {
    expect(await run(() => activities.switchCurrent({ manifest, releaseId: 'r1' }))).toEqual({
      previous: undefined,
      current: 'r1',
    });
    expect(await run(() => activities.switchCurrent({ manifest, releaseId: 'r2' }))).toEqual({
      previous: 'r1',
      current: 'r2',
    });
    await expect(run(() => activities.switchCurrent({ manifest, releaseId: 'r9' }))).rejects.toThrow(
      /release r9 does not exist/,
    );
  });

  it('clones from a URL named by variable (repoEnv), which no message shows', async () => {
    const named = parseManifest(
      `app: gitapp\nhost: h\nroot: ${dir}/srv-named\nsource: { type: git, repoEnv: GITAPP_REPO_URL }\n`,
    );
    if (!named.ok) throw new Error('bad manifest');
    const withRepo = (url: string) =>
      releaseActivities({ ...activityConfigFromEnv(), env: { ...process.env, GITAPP_REPO_URL: url } });
    const release = await run(() =>
      withRepo(repo).prepareRelease({ manifest: named.manifest, releaseId: 'n1', ref: 'v1' }),
    );
    expect(release).toMatchObject({ id: 'n1', commit: v1 });
    await expect(
      run(() => withRepo(repo).prepareRelease({ manifest: named.manifest, releaseId: 'n2', ref: 'v9' })),
    ).rejects.toThrow("ref 'v9' was not found in $GITAPP_REPO_URL");

    const elsewhere = parseManifest(
      `app: gitapp\nhost: h\nroot: ${dir}/srv-broken\nsource: { type: git, repoEnv: GITAPP_REPO_URL }\n`,
    );
    if (!elsewhere.ok) throw new Error('bad manifest');
    const failure = await run(() =>
      withRepo(`${dir}/tok3nS3cr3tX/missing.git`).prepareRelease({
        manifest: elsewhere.manifest,
        releaseId: 'b1',
        ref: 'v1',
      }),
    ).catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain('git clone');
    expect((failure as Error).message).not.toContain('tok3nS3cr3tX');
  });

  it('refuses a ref the repository does not have, without retrying', async () => {
    await expect(run(() => activities.prepareRelease({ manifest, releaseId: 'r3', ref: 'v9' }))).rejects.toThrow(
      `ref 'v9' was not found in ${repo}`,
    );
    expect(existsSync(path.join(dir, 'srv', 'releases', 'r3'))).toBe(false);
  });
});

describe('shared files and folders linked into each release', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-shared-'));
  const staging = path.join(dir, 'staging');
  mkdirSync(path.join(staging, 'logs'), { recursive: true });
  writeFileSync(path.join(staging, 'logs', 'from-the-repo.log'), 'should not survive\n');
  writeFileSync(path.join(staging, 'settings.ini'), 'default settings\n');
  const manifestWith = (shared: string) => {
    const parsed = parseManifest(
      `app: sharedapp\nhost: h\nroot: ${dir}/srv\nsource: { type: copy, from: ${staging} }\nshared: ${shared}\n`,
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.manifest;
  };
  const activities = releaseActivities(activityConfigFromEnv());
  const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;
  const shared = (...p: string[]) => path.join(dir, 'srv', 'shared', ...p);
  const inRelease = (id: string, ...p: string[]) => path.join(dir, 'srv', 'releases', id, ...p);

  it('refuses a shared file that exists nowhere, before the release is complete', async () => {
    const manifest = manifestWith('{ files: [.env] }');
    await expect(run(() => activities.prepareRelease({ manifest, releaseId: 'r0', ref: 'v0' }))).rejects.toThrow(
      `shared file ${shared('.env')} does not exist on this host; create it there before deploying (shared.files: .env)`,
    );
    expect(existsSync(inRelease('r0'))).toBe(false);
  });

  it("links them before the steps run: folders created once, a first release's file seeds the shared one", async () => {
    const manifest = manifestWith('{ files: [settings.ini, config/.env], dirs: [logs, Datasets] }');
    mkdirSync(shared('config'), { recursive: true });
    writeFileSync(shared('config', '.env'), 'SECRET_KEY=kept on the server\n');
    await run(() => activities.prepareRelease({ manifest, releaseId: 'r1', ref: 'v1' }));
    for (const p of ['settings.ini', 'config/.env', 'logs', 'Datasets'])
      expect(readlinkSync(inRelease('r1', p))).toBe(shared(p));
    expect(readFileSync(inRelease('r1', 'config', '.env'), 'utf8')).toBe('SECRET_KEY=kept on the server\n');
    expect(readFileSync(shared('settings.ini'), 'utf8')).toBe('default settings\n');
    expect(readdirSync(shared('logs'))).toEqual([]);

    writeFileSync(shared('logs', 'app.log'), 'written by r1\n');
    writeFileSync(shared('settings.ini'), 'edited on the server\n');
    await run(() => activities.prepareRelease({ manifest, releaseId: 'r2', ref: 'v2' }));
    expect(readFileSync(inRelease('r2', 'logs', 'app.log'), 'utf8')).toBe('written by r1\n');
    expect(readFileSync(inRelease('r2', 'settings.ini'), 'utf8')).toBe('edited on the server\n');
  });
});

describe('pruning old releases', () => {
  it("deletes a pruned release's database snapshot with it, and snapshots whose release is gone", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'runbook-prune-'));
    const parsed = parseManifest(
      JSON.stringify({
        app: 'shop',
        host: 'h',
        root,
        source: { type: 'copy', from: root },
        releases: { keep: 2 },
        snapshot: { database: { urlEnv: 'DATABASE_URL' } },
      }),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const manifest = parsed.manifest;
    const paths = appPaths(manifest);
    for (const id of ['r1', 'r2', 'r3', 'r4']) {
      mkdirSync(path.join(paths.releasesDir, id), { recursive: true });
      await writeReleaseInfo(path.join(paths.releasesDir, id), release(id, 'good'));
    }
    for (const id of ['r0', 'r1', 'r2', 'r3', 'r4']) {
      mkdirSync(path.join(paths.stateDir, 'deploys', id, 'steps'), { recursive: true });
      writeFileSync(path.join(paths.stateDir, 'deploys', id, 'steps', 'install-0.done'), '{"exitCode":0}');
    }
    symlinkSync(path.join(paths.releasesDir, 'r4'), paths.current);
    mkdirSync(paths.snapshotsDir, { recursive: true });
    // r0's release went before snapshots were pruned; r2's deploy found no schema yet (a plain snapshot)
    for (const name of ['shop-r0.dump', 'shop-r1.dump', 'shop-r2.sql', 'shop-r3.dump', 'shop-r4.dump', 'notes.txt'])
      writeFileSync(path.join(paths.snapshotsDir, name), 'snapshot');

    const pruned = await new MockActivityEnvironment().run(() =>
      releaseActivities(activityConfigFromEnv()).pruneReleases({ manifest }),
    );
    expect(pruned).toEqual(['r1', 'r2']);
    expect(readdirSync(paths.releasesDir).sort()).toEqual(['r3', 'r4']);
    expect(readdirSync(paths.snapshotsDir).sort()).toEqual(['notes.txt', 'shop-r3.dump', 'shop-r4.dump']);
    // Each deploy's step markers go with its release, and so do those of deploys whose release is gone.
    expect(readdirSync(path.join(paths.stateDir, 'deploys')).sort()).toEqual(['r3', 'r4']);
  });
});

describe('the releases of an app, oldest first', () => {
  it('are ordered by when they were made, not by the random end of ids that share a second', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'runbook-order-'));
    const parsed = parseManifest(
      JSON.stringify({ app: 'shop', host: 'h', root, source: { type: 'copy', from: root } }),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const paths = appPaths(parsed.manifest);
    const [earlier, later] = ['20250101T000000Z-ffffffff', '20250101T000000Z-00000000'];
    for (const [id, createdAt] of [
      [earlier, '2025-01-01T00:00:00.100Z'],
      [later, '2025-01-01T00:00:00.700Z'],
    ]) {
      mkdirSync(path.join(paths.releasesDir, id), { recursive: true });
      await writeReleaseInfo(path.join(paths.releasesDir, id), { ...release(id, 'good'), createdAt });
    }
    expect(listReleases(parsed.manifest).map((r) => r.id)).toEqual([earlier, later]);
    rmSync(root, { recursive: true, force: true });
  });
});
