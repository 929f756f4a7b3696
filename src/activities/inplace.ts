import { cpSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { heartbeat } from '@temporalio/activity';
import type { Manifest } from '../manifest/types';
import { createArchive, excluder, extractArchive, sha256File } from './archive';
import type { ActivityConfig } from './config';
import { appPaths } from '../common/names';
import { failure } from '../common/failures';

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

export function inPlaceActivities(_config: ActivityConfig) {
  return {
    /** Zips the live folder. The archive appears under its final name only when complete, so a retry reuses it. */
    async archiveLiveFolder(request: { manifest: Manifest; deployId: string }): Promise<ArchiveInfo> {
      const { manifest } = request;
      const file = archiveFileFor(manifest, request.deployId);
      if (existsSync(file)) return { file, bytes: statSync(file).size, sha256: await sha256File(file) };
      if (!existsSync(manifest.root)) {
        mkdirSync(manifest.root, { recursive: true });
      }
      mkdirSync(path.dirname(file), { recursive: true });
      const result = await createArchive({
        format: 'zip',
        sources: [manifest.root],
        baseDir: manifest.root,
        outFile: file,
        exclude: manifest.snapshot.exclude,
        onProgress: (bytes) => heartbeat({ bytes }),
      });
      return { file, bytes: result.bytes, sha256: result.sha256 };
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
      mkdirSync(manifest.root, { recursive: true });
      cpSync(source.from, manifest.root, {
        recursive: true,
        force: true,
        verbatimSymlinks: true,
        filter: (file) => {
          const relative = path.relative(source.from, file);
          return relative === '' || !excluded(relative.split(path.sep).join('/'), statSync(file).isDirectory());
        },
      });
      return `copied ${source.from} into ${manifest.root}`;
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
      if (existsSync(manifest.root) && !existsSync(failedTree)) renameSync(manifest.root, failedTree);
      else if (existsSync(manifest.root)) rmSync(manifest.root, { recursive: true, force: true });
      const staging = `${manifest.root.replace(/\/+$/, '')}.restoring-${deployId}`;
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      heartbeat('extracting');
      await extractArchive({ file: request.archive, format: 'zip', targetDir: staging });
      renameSync(staging, manifest.root);
      mkdirSync(path.dirname(done), { recursive: true });
      writeFileSync(done, new Date().toISOString());
      return `restored ${manifest.root} from ${request.archive}; failed tree kept as ${failedTree}`;
    },
  };
}
