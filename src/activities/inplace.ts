import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../manifest/types';
import { createArchive, excluder, extractArchive, sha256File } from './archive';
import { attemptNumber, reportProgress, throwIfCancelled, withClaim } from './attempt';
import type { ActivityConfig } from './config';
import { appPaths } from '../common/names';
import { failure } from '../common/failures';
import { copyTree, removePartials, removeStaged } from './files';

/*
 * The Almareia guide's in-place strategy: zip the production folder, copy the new files over it, and on
 * failure keep the failed tree as <root>_failed_<id> and extract the zip back into place.
 */

export interface ArchiveInfo {
  file: string;
  bytes: number;
  sha256: string;
}

function deployState(manifest: Manifest, deployId: string): string {
  return path.join(appPaths(manifest).stateDir, 'deploys', deployId);
}

export function archiveFileFor(manifest: Manifest, deployId: string): string {
  return path.join(appPaths(manifest).archiveDir, `${manifest.app}_backup_${deployId}.zip`);
}

export function failedTreeFor(manifest: Manifest, deployId: string): string {
  return `${manifest.root.replace(/\/+$/, '')}_failed_${deployId}`;
}

/**
 * Whatever changes or reads the live folder as a whole holds this claim: an archive, a copy and a restore of
 * one app never run at once on a host, even when an undo is scheduled while a timed-out attempt still runs.
 */
function withLiveFolder<T>(manifest: Manifest, fn: () => Promise<T>): Promise<T> {
  return withClaim(path.join(appPaths(manifest).stateDir, 'locks', 'live-folder.lock'), `${manifest.root}`, fn);
}

export function inPlaceActivities(_config: ActivityConfig) {
  return {
    /** Zips the live folder. The archive appears under its final name only when complete, so a retry reuses it. */
    async archiveLiveFolder(request: { manifest: Manifest; deployId: string }): Promise<ArchiveInfo> {
      const { manifest } = request;
      const file = archiveFileFor(manifest, request.deployId);
      return withLiveFolder(manifest, async () => {
        if (existsSync(file)) return { file, bytes: (await stat(file)).size, sha256: await sha256File(file) };
        await mkdir(manifest.root, { recursive: true });
        await mkdir(path.dirname(file), { recursive: true });
        // The claim means no earlier attempt still writes: what one left half-written goes.
        await removePartials(file);
        const result = await createArchive({
          format: 'zip',
          sources: [manifest.root],
          baseDir: manifest.root,
          outFile: file,
          exclude: manifest.snapshot.exclude,
          onProgress: (bytes) => reportProgress({ bytes }),
        });
        return { file, bytes: result.bytes, sha256: result.sha256 };
      });
    },

    /** Copies the staging folder's files over the live folder (the guide's "copy new files"). */
    async copyIntoPlace(request: { manifest: Manifest; deployId: string }): Promise<string> {
      const { manifest } = request;
      const source = manifest.source;
      if (source.type !== 'copy') throw failure('BadManifest', 'in-place deploys need source.type copy');
      if (!existsSync(source.from))
        throw failure(
          'MissingSource',
          `staging folder ${source.from} does not exist; put the new version there (source.from)`,
        );
      const excluded = excluder(source.exclude);
      const files = await withLiveFolder(manifest, () => copyTree(source.from, manifest.root, { skip: excluded }));
      return `copied ${source.from} into ${manifest.root} (${files} entries)`;
    },

    /**
     * Puts the archived version back: the failed tree is kept aside as <root>_failed_<id> for analysis,
     * the archive is extracted to a temporary folder and renamed into place. Each stage is checked on
     * retry, so a crash halfway through resumes instead of losing the failed tree or the archive.
     */
    async restoreLiveFolder(request: { manifest: Manifest; deployId: string; archive: string }): Promise<string> {
      const { manifest, deployId } = request;
      const done = path.join(deployState(manifest, deployId), 'restored');
      if (existsSync(done)) return `${manifest.root} already restored from ${request.archive}`;
      if (!existsSync(request.archive))
        throw failure(
          'MissingArchive',
          `archive ${request.archive} is missing; restore ${manifest.root} by hand from another backup`,
        );
      const failedTree = failedTreeFor(manifest, deployId);
      const root = manifest.root.replace(/\/+$/, '');
      const stagingPrefix = `${path.basename(root)}.restoring-${deployId}-`;
      // Each attempt extracts under its own name; the claim means no earlier one is still writing.
      const staging = `${root}.restoring-${deployId}-${attemptNumber()}`;
      return withLiveFolder(manifest, async () => {
        await removeStaged(path.dirname(root), stagingPrefix);
        reportProgress({ extracting: request.archive, into: staging });
        await extractArchive({ file: request.archive, format: 'zip', targetDir: staging });
        throwIfCancelled();
        // The failed tree is moved aside only once the archive is out, so the live folder is never missing
        // for longer than two renames.
        if (existsSync(root)) {
          if (!existsSync(failedTree)) await rename(root, failedTree);
          else await rm(root, { recursive: true, force: true });
        }
        await rename(staging, root);
        await mkdir(path.dirname(done), { recursive: true });
        await writeFile(done, new Date().toISOString());
        return `restored ${manifest.root} from ${request.archive}; failed tree kept as ${failedTree}`;
      });
    },
  };
}
