import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../manifest/types';
import { excluder, extractArchive, isInside, type ArchiveFormat } from './archive';
import { attemptNumber, reportProgress, throwIfCancelled } from './attempt';
import { writeFileAtomic } from './atomic-write';
import { findTarget } from './backup-targets';
import { backupsDir, readCatalogue, updateCatalogue, type CatalogueEntry, type RestoreRecord } from './catalogue';
import { sha256Path } from './checksum';
import type { ActivityConfig } from './config';
import { appEnvironment } from './environment';
import { serviceUrlFromEnv } from './published';
import { moveTree, removeStaged } from './files';
import { appPaths } from '../common/names';
import { createScratchDatabase, dropDatabase, parsePostgresUrl, pgBinDir, restoreDatabase } from './postgres';
import { failure } from '../common/failures';

export interface FilesRestoreResult {
  restoredTo: string[];
  /** What the restore moved aside: `<path>_replaced_<time>`. */
  replaced: string[];
}

export function restoreActivities(config: ActivityConfig) {
  const envOf = (manifest: Manifest) => appEnvironment(manifest, config.env);

  return {
    /** The catalogue entry of a backup id (the app's name may be left off the id). */
    async findBackup(request: { manifest: Manifest; backup: string }): Promise<CatalogueEntry> {
      const { manifest, backup } = request;
      const dir = backupsDir(manifest);
      const entries = (await readCatalogue(dir)).entries.filter((e) => e.app === manifest.app);
      const entry = entries.find((e) => e.id === backup) ?? entries.find((e) => e.id === `${manifest.app}-${backup}`);
      if (!entry) {
        const recent = entries
          .slice(-5)
          .reverse()
          .map((e) => e.id);
        throw failure(
          'BackupNotFound',
          `no backup '${backup}' in ${path.join(dir, 'catalogue.json')}; list them with \`runbook backups ${manifest.app}\`` +
            (recent.length > 0 ? ` (newest: ${recent.join(', ')})` : ' (the catalogue has none yet)'),
        );
      }
      return entry;
    },

    /** Refuses an artifact whose bytes are not the ones catalogued. */
    async checkBackupChecksum(request: { entry: CatalogueEntry }): Promise<{ sha256: string }> {
      const { entry } = request;
      if (!existsSync(entry.file))
        throw failure(
          'BackupMissing',
          `backup ${entry.id}: ${entry.file} is missing; pick another backup (runbook backups ${entry.app})`,
        );
      const sha256 = await sha256Path(entry.file);
      if (sha256 !== entry.sha256)
        throw failure(
          'ChecksumMismatch',
          `backup ${entry.id}: the checksum of ${entry.file} (${sha256.slice(0, 12)}…) is not the catalogued ${entry.sha256.slice(0, 12)}…: the file changed or is corrupt; pick another backup`,
        );
      return { sha256 };
    },

    /**
     * Restores a dump over the app's database (pg_restore --clean --if-exists, one transaction), or into
     * a new scratch database when one is named. Returns the database's name.
     */
    async restoreDatabaseBackup(request: {
      manifest: Manifest;
      entry: CatalogueEntry;
      scratchDatabase?: string;
      stamp: string;
    }): Promise<{ restoredTo: string }> {
      const { manifest, entry } = request;
      const target = findTarget(manifest, entry.target);
      if (!('postgres' in target)) throw failure('BackupConfig', `backup target '${entry.target}' is not a database`);
      const env = envOf(manifest);
      const url = serviceUrlFromEnv(
        manifest,
        env,
        target.postgres.urlEnv,
        `the database of backup target '${target.name}'`,
      );
      const lease = `${manifest.app}/restore/${entry.id}/${request.stamp}`;
      const common = { file: entry.file, format: entry.format as 'custom', binDir: pgBinDir(config.env), env, lease };
      if (!request.scratchDatabase) {
        await restoreDatabase({
          ...common,
          url,
          clean: true,
          schemas: target.postgres.schemas,
          excludeSchemas: target.postgres.excludeSchemas,
        });
        return { restoredTo: parsePostgresUrl(url).database };
      }
      const scratchUrl = await createScratchDatabase(url, request.scratchDatabase);
      try {
        await restoreDatabase({ ...common, url: scratchUrl, clean: false, noOwner: true });
      } catch (error) {
        await dropDatabase(url, request.scratchDatabase).catch(() => undefined);
        throw error;
      }
      return { restoredTo: request.scratchDatabase };
    },

    /**
     * Puts an archive's folders back where they were: extracts into a staging folder, moves each current
     * folder aside as `<path>_replaced_<time>`, moves the restored one in, and carries back what the backup
     * excluded (a virtualenv, logs) from the folder it replaces. A scratch restore extracts into a new
     * folder under the backups folder and touches nothing else.
     */
    async restoreFilesBackup(request: {
      manifest: Manifest;
      entry: CatalogueEntry;
      stamp: string;
      scratch: boolean;
    }): Promise<FilesRestoreResult> {
      const { manifest, entry, stamp } = request;
      const format = entry.format as ArchiveFormat;
      if (request.scratch) {
        const folder = path.join(backupsDir(manifest), 'scratch', `${entry.id}-restored-${stamp}`);
        await rm(folder, { recursive: true, force: true });
        await extractArchive({ file: entry.file, format, targetDir: folder });
        return { restoredTo: [folder], replaced: [] };
      }
      const target = findTarget(manifest, entry.target);
      if (!('files' in target)) throw failure('BackupConfig', `backup target '${entry.target}' is not a files target`);
      const paths = target.files.paths.map((p) => path.resolve(p));
      const staging = path.join(path.dirname(paths[0]), `.runbook-restore-${stamp}`);
      const complete = path.join(staging, '.runbook-complete');
      // A retry (or the same run after a reset) whose earlier attempt finished returns what it did: moving
      // the restored folders aside again would replace the restore with itself.
      const done = filesRestoreMarker(manifest, entry, stamp);
      if (existsSync(done)) {
        await rm(staging, { recursive: true, force: true });
        return JSON.parse(await readFile(done, 'utf8')) as FilesRestoreResult;
      }
      if (!existsSync(complete)) {
        // Each attempt extracts under its own name, renamed to the shared one only when complete, so a
        // retry resumes from a finished extraction and never from a half-written one.
        const own = `${staging}.attempt-${attemptNumber()}`;
        await removeStaged(path.dirname(staging), `${path.basename(staging)}.attempt-`);
        await rm(staging, { recursive: true, force: true });
        reportProgress({ extracting: entry.file, into: own });
        await extractArchive({ file: entry.file, format, targetDir: own });
        await writeFile(path.join(own, '.runbook-complete'), entry.id);
        throwIfCancelled();
        await rename(own, staging);
      }
      const excluded = excluder(target.files.exclude);
      const result: FilesRestoreResult = { restoredTo: [], replaced: [] };
      for (const current of paths) {
        const staged = path.join(staging, path.relative('/', current));
        const replaced = `${current}_replaced_${stamp}`;
        if (existsSync(staged)) {
          if (existsSync(current)) {
            if (existsSync(replaced))
              throw failure(
                'RestoreConflict',
                `${current} and ${replaced} both exist while restoring; move one of them away and restore again`,
              );
            await rename(current, replaced);
          }
          await moveTree(staged, current);
        } else if (!existsSync(current)) {
          continue; // not in this backup, and nothing to restore over
        }
        if (existsSync(replaced)) {
          if ((await lstat(replaced)).isDirectory() && (await lstat(current)).isDirectory())
            await carryOver(replaced, current, '', excluded);
          result.replaced.push(replaced);
        }
        result.restoredTo.push(current);
      }
      await writeFileAtomic(done, JSON.stringify(result));
      await rm(staging, { recursive: true, force: true });
      await pruneFilesRestoreMarkers(manifest);
      return result;
    },

    /** Appends the outcome of a restore to the catalogue (once per run). */
    async recordRestore(request: { manifest: Manifest; record: RestoreRecord }): Promise<void> {
      const { record } = request;
      await updateCatalogue(backupsDir(request.manifest), (catalogue) => {
        catalogue.restores = catalogue.restores.filter(
          (r) => !(r.workflowId === record.workflowId && r.runId === record.runId),
        );
        catalogue.restores.push(record);
      });
    },
  };
}

/** Moves back what the backup left out on purpose (matching its excludes) and the restored folder lacks. */
async function carryOver(
  replaced: string,
  restored: string,
  relative: string,
  excluded: (relative: string, isDir: boolean) => boolean,
): Promise<void> {
  const from = path.join(replaced, relative);
  for (const name of await readdir(from)) {
    const rel = relative ? `${relative}/${name}` : name;
    const source = path.join(replaced, rel);
    const destination = path.join(restored, rel);
    const stats = await lstat(source);
    if (excluded(rel, stats.isDirectory())) {
      if (!existsSync(destination) && isInside(destination, restored)) {
        await mkdir(path.dirname(destination), { recursive: true });
        await rename(source, destination);
      }
      continue;
    }
    const there = await lstat(destination).catch(() => undefined);
    if (stats.isDirectory() && there?.isDirectory()) await carryOver(replaced, restored, rel, excluded);
  }
}

/** Where a files restore records what it did once done: `<state>/restores/<backup id>.<run stamp>.done`. */
export function filesRestoreMarker(
  manifest: Pick<Manifest, 'root' | 'strategy' | 'app' | 'snapshot'>,
  entry: Pick<CatalogueEntry, 'id'>,
  stamp: string,
): string {
  return path.join(appPaths(manifest).stateDir, 'restores', `${entry.id}.${stamp}.done`);
}

/** How long a restore's record is kept: far longer than a run lasts, or a reset is made after it. */
const RESTORE_MARKERS_KEPT_MS = 30 * 24 * 3_600_000;

/** Removes the records of files restores finished a month ago or more. */
export async function pruneFilesRestoreMarkers(
  manifest: Pick<Manifest, 'root' | 'strategy' | 'app' | 'snapshot'>,
  now = Date.now(),
): Promise<void> {
  const dir = path.join(appPaths(manifest).stateDir, 'restores');
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    const stats = await stat(file).catch(() => undefined);
    if (stats && now - stats.mtimeMs > RESTORE_MARKERS_KEPT_MS) await rm(file, { force: true });
  }
}
