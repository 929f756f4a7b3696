import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';
import { readdir, rename, rm } from 'node:fs/promises';
import { activityInfo, log } from '@temporalio/activity';
import type { Manifest } from '../manifest/types';
import { excluder } from './archive';
import { attemptNumber, reportProgress, throwIfCancelled } from './attempt';
import type { ActivityConfig } from './config';
import { gitCheckoutIntoArgv, gitFetchArgv, gitMirrorCloneArgv, gitResolveArgv } from './commands/git';
import { appEnvironment, commandEnvironment, requireEnv, secretValues } from './environment';
import { appPaths, compareRuns, releaseDir } from '../common/names';
import { copyTree, removeStaged } from './files';
import { describeFailure, runCommand } from './shell';
import { failure } from '../common/failures';
import { removeReleaseImages } from './images';
import { readReleaseInfo, writeReleaseInfo, type ReleaseInfo, type ReleaseStatus } from './release-info';
import { listDatabaseSnapshots } from './snapshots';

export type { ReleaseInfo, ReleaseStatus } from './release-info';

export interface ReleasesView {
  current?: string;
  releases: ReleaseInfo[];
}

/** The release `current` points at, if any. */
export function currentReleaseId(manifest: Manifest): string | undefined {
  const link = appPaths(manifest).current;
  try {
    return path.basename(readlinkSync(link));
  } catch {
    return undefined;
  }
}

export function listReleases(manifest: Manifest): ReleaseInfo[] {
  const dir = appPaths(manifest).releasesDir;
  if (!existsSync(dir)) return [];
  const madeAt = (info: ReleaseInfo) => ({ id: info.id, madeAt: Date.parse(info.createdAt) || 0 });
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.'))
    .map((name) => readReleaseInfo(path.join(dir, name)))
    .filter((info): info is ReleaseInfo => info !== undefined)
    .sort((a, b) => compareRuns(madeAt(a), madeAt(b)));
}

/**
 * Release ids to delete so that `keep` remain: never the current one, never the newest good one, never
 * `protect` (the release being deployed); bad releases go first.
 */
export function releasesToPrune(
  releases: readonly ReleaseInfo[],
  keep: number,
  current: string | undefined,
  protect: readonly string[] = [],
): string[] {
  const newestGood = [...releases].reverse().find((r) => r.status === 'good')?.id;
  const kept = new Set([current, newestGood, ...protect].filter(Boolean) as string[]);
  const candidates = [
    ...releases.filter((r) => r.status === 'bad'),
    ...releases.filter((r) => r.status !== 'bad'),
  ].filter((r) => !kept.has(r.id));
  const excess = releases.length - keep;
  return excess > 0 ? candidates.slice(0, excess).map((r) => r.id) : [];
}

/**
 * Links the manifest's shared files and folders (<root>/shared/<path>) into a release, replacing whatever the
 * release holds at those paths, as Capistrano's linked_files/linked_dirs do. Folders are created on the first
 * deploy; a shared file must exist, except that a first release carrying the file seeds it.
 */
export function linkSharedPaths(manifest: Manifest, release: string): string[] {
  const sharedDir = appPaths(manifest).sharedDir;
  const link = (relative: string, target: string) => {
    const at = path.join(release, relative);
    rmSync(at, { recursive: true, force: true });
    mkdirSync(path.dirname(at), { recursive: true });
    symlinkSync(target, at);
    return relative;
  };
  const linked: string[] = [];
  for (const dir of manifest.shared.dirs) {
    const target = path.join(sharedDir, dir);
    mkdirSync(target, { recursive: true });
    linked.push(link(dir, target));
  }
  for (const file of manifest.shared.files) {
    const target = path.join(sharedDir, file);
    const carried = path.join(release, file);
    if (!existsSync(target)) {
      if (!existsSync(carried) || !lstatSync(carried).isFile())
        throw failure(
          'MissingSharedFile',
          `shared file ${target} does not exist on this host; create it there before deploying (shared.files: ${file})`,
        );
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(carried, target, { preserveTimestamps: true });
    }
    linked.push(link(file, target));
  }
  return linked;
}

export interface PrepareReleaseRequest {
  manifest: Manifest;
  releaseId: string;
  ref: string;
}

export function releaseActivities(config: ActivityConfig) {
  async function git(argv: string[], manifest: Manifest, env: NodeJS.ProcessEnv): Promise<string> {
    const result = await runCommand({ argv, env, redact: secretValues(manifest, config.env), timeoutMs: 600_000 });
    if (result.exitCode !== 0) throw failure('GitFailed', describeFailure(result, argv.slice(0, 4).join(' ')));
    return result.stdoutTail.trim();
  }

  async function fillFromGit(
    manifest: Manifest,
    source: Pick<Extract<Manifest['source'], { type: 'git' }>, 'repo' | 'repoEnv'>,
    ref: string,
    target: string,
  ): Promise<string> {
    const env = appEnvironment(manifest, config.env);
    const repo = source.repo ?? requireEnv(env, source.repoEnv!, 'clone URL of the repository', manifest);
    const where = source.repo ?? `$${source.repoEnv}`;
    const mirror = path.join(appPaths(manifest).stateDir, 'repo.git');
    if (!existsSync(path.join(mirror, 'HEAD'))) {
      rmSync(mirror, { recursive: true, force: true });
      mkdirSync(path.dirname(mirror), { recursive: true });
      await git(gitMirrorCloneArgv(repo, mirror), manifest, env);
    } else {
      await git(gitFetchArgv(mirror), manifest, env);
    }
    let commit: string;
    try {
      commit = await git(gitResolveArgv(mirror, ref), manifest, env);
    } catch {
      commit = '';
    }
    if (!/^[0-9a-f]{40}$/.test(commit))
      throw failure(
        'UnknownRef',
        `ref '${ref}' was not found in ${where}; push it or pick an existing branch, tag or commit`,
      );
    mkdirSync(target, { recursive: true });
    await git(gitCheckoutIntoArgv(mirror, target, commit), manifest, env);
    return commit;
  }

  async function fillFromCopy(source: Extract<Manifest['source'], { type: 'copy' }>, target: string): Promise<void> {
    if (!existsSync(source.from))
      throw failure(
        'MissingSource',
        `staging folder ${source.from} does not exist; put the new version there (source.from)`,
      );
    await copyTree(source.from, target, { skip: excluder(source.exclude) });
  }

  return {
    /** The releases on this host and which one is current. */
    async describeReleases(request: { manifest: Manifest }): Promise<ReleasesView> {
      return { current: currentReleaseId(request.manifest), releases: listReleases(request.manifest) };
    },

    /**
     * Puts the code for `ref` into releases/<id>: a git checkout or a copy of the staging folder (an image
     * source's `code`; without it, just the release record). Built under a temporary name and renamed when complete, so a retry
     * after a crash finds either a finished release or nothing.
     */
    async prepareRelease(request: PrepareReleaseRequest): Promise<ReleaseInfo> {
      const { manifest, releaseId, ref } = request;
      const dir = releaseDir(manifest, releaseId);
      const existing = readReleaseInfo(dir);
      if (existing) return existing;
      // Each attempt builds under its own name (the attempt's claim means no earlier one still writes).
      const releasesDir = appPaths(manifest).releasesDir;
      const tmp = path.join(releasesDir, `.tmp-${releaseId}-${attemptNumber()}`);
      await removeStaged(releasesDir, `.tmp-${releaseId}-`);
      mkdirSync(tmp, { recursive: true });
      reportProgress({ preparing: releaseId });
      let commit: string | undefined;
      const source = manifest.source;
      // An image app's release holds the ref's files too (its compose file and build context) when it names them.
      const code = source.type === 'image' ? source.code : source;
      if (code?.type === 'git') commit = await fillFromGit(manifest, code, ref, tmp);
      else if (code?.type === 'copy') await fillFromCopy(code, tmp);
      linkSharedPaths(manifest, tmp);
      throwIfCancelled();
      const info = activityInfo();
      const release: ReleaseInfo = {
        id: releaseId,
        ref,
        commit,
        source: source.type,
        createdAt: new Date().toISOString(),
        workflowId: info.workflowExecution?.workflowId ?? '',
        runId: info.workflowExecution?.runId ?? '',
        status: 'ready',
      };
      await writeReleaseInfo(tmp, release);
      await rename(tmp, dir);
      return release;
    },

    /** Points `current` at a release atomically (a new symlink renamed over the old one). Idempotent. */
    async switchCurrent(request: {
      manifest: Manifest;
      releaseId: string;
    }): Promise<{ previous?: string; current: string }> {
      const { manifest, releaseId } = request;
      const paths = appPaths(manifest);
      const target = releaseDir(manifest, releaseId);
      if (!readReleaseInfo(target))
        throw failure(
          'UnknownRelease',
          `release ${releaseId} does not exist in ${paths.releasesDir}; list them with: runbook releases ${manifest.app}`,
        );
      const previous = currentReleaseId(manifest);
      if (previous === releaseId) return { previous, current: releaseId };
      if (existsSync(paths.current) && !lstatSync(paths.current).isSymbolicLink())
        throw failure(
          'NotASymlink',
          `${paths.current} exists and is not a symlink; move it away so Runbook can manage releases`,
        );
      const tmp = `${paths.current}.tmp-${process.pid}`;
      rmSync(tmp, { force: true });
      symlinkSync(path.relative(paths.root, target), tmp);
      renameSync(tmp, paths.current);
      return { previous, current: releaseId };
    },

    async markRelease(request: {
      manifest: Manifest;
      releaseId: string;
      status: ReleaseStatus;
      note?: string;
    }): Promise<void> {
      const dir = releaseDir(request.manifest, request.releaseId);
      const info = readReleaseInfo(dir);
      if (!info) return;
      await writeReleaseInfo(dir, { ...info, status: request.status, note: request.note });
    },

    /**
     * Deletes old releases beyond manifest.releases.keep; never the current or the newest good one. A built
     * image goes with its release (its tag first: a retry finds the folder still there and removes both).
     */
    async pruneReleases(request: { manifest: Manifest; protect?: string[] }): Promise<string[]> {
      const { manifest } = request;
      const releases = listReleases(manifest);
      const doomed = releasesToPrune(releases, manifest.releases.keep, currentReleaseId(manifest), request.protect);
      const env = commandEnvironment(manifest, config.env);
      for (const id of doomed) {
        throwIfCancelled();
        const problems = await removeReleaseImages(
          manifest,
          releases.filter((r) => r.id === id),
          env,
        );
        problems.forEach((problem) => log.warn(`release ${id}: its image was not removed: ${problem}`));
        await rm(releaseDir(manifest, id), { recursive: true, force: true });
      }
      // A deploy's database snapshot is restored only by rolling back to before that deploy: it goes with its
      // release, and so does one whose release an older Runbook pruned without it.
      const kept = new Set(
        [...releases.map((r) => r.id), ...(request.protect ?? [])].filter((id) => !doomed.includes(id)),
      );
      for (const snapshot of await listDatabaseSnapshots(manifest))
        if (!kept.has(snapshot.deployId)) await rm(snapshot.file, { force: true });
      // Step markers only serve a retry of their own deploy, which is over (the app's lock is held): those of
      // pruned releases go, and those of deploys whose release never was or is already gone.
      const markers = path.join(appPaths(manifest).stateDir, 'deploys');
      for (const id of await readdir(markers).catch(() => [] as string[]))
        if (!kept.has(id)) await rm(path.join(markers, id), { recursive: true, force: true });
      return doomed;
    },
  };
}
