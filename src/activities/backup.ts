import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../manifest/types';
import { createArchive, verifyArchive, type ArchiveFormat } from './archive';
import { findTarget, targetKind } from './backup-targets';
import { backupsDir, readCatalogue, updateCatalogue, upsertEntry, type CatalogueEntry } from './catalogue';
import { sha256Path, sizeOfSync } from './checksum';
import type { ActivityConfig } from './config';
import { appEnvironment } from './environment';
import { serviceUrlFromEnv } from './published';
import { removePartials } from './files';
import {
  createScratchDatabase,
  dropDatabase,
  dumpDatabase,
  presentSchemaPatterns,
  listDump,
  pgBinDir,
  restoreDatabase,
  withPg,
} from './postgres';
import {
  assessBackup,
  backupFreshness,
  DEFAULT_BACKUP_ALERTS,
  type BackupAssessment,
  type TargetFreshness,
} from './backup-health';
import { drillActivities, sanityQuery } from './drill';
import { offsiteActivities } from './offsite';
import { restoreActivities } from './restore';
import { planRetention, retentionTimeZone, type RetentionPlan } from './retention';
import { failure } from '../common/failures';

export interface BackupArtifactRequest {
  manifest: Manifest;
  target: string;
  /** Compact logical time used in names (20250101T010000Z). */
  stamp: string;
  /** ISO logical time of the run. */
  logicalDate: string;
  workflowId: string;
  runId: string;
}

/** A finished artifact, not yet catalogued. */
export type BackupArtifact = Omit<CatalogueEntry, 'verified' | 'verification' | 'restoreVerified'>;

export interface VerificationResult {
  verified: boolean;
  /** What was checked, or why it failed. */
  detail: string;
}

const EXTENSIONS: Record<string, string> = {
  custom: 'dump',
  directory: 'dumpdir',
  plain: 'sql',
  'tar.gz': 'tar.gz',
  zip: 'zip',
};

/** Backup and restore activities; they run on the app's host. */
export function backupActivities(config: ActivityConfig) {
  return {
    ...artifactActivities(config),
    ...restoreActivities(config),
    ...offsiteActivities(config),
    ...drillActivities(config),
  };
}

function artifactActivities(config: ActivityConfig) {
  const binDir = () => pgBinDir(config.env);
  const databaseUrl = (manifest: Manifest, urlEnv: string, purpose: string) =>
    serviceUrlFromEnv(manifest, appEnvironment(manifest, config.env), urlEnv, purpose);

  return {
    /**
     * Dumps or archives one target into `<backups>/<app>-<target>-<time>.<ext>`, through a temporary name:
     * a retry after a crash stops the dump the dead worker left running, deletes its partial output and
     * starts clean. A finished file from an earlier attempt of the same run is reused.
     */
    async createBackupArtifact(request: BackupArtifactRequest): Promise<BackupArtifact> {
      const { manifest } = request;
      const target = findTarget(manifest, request.target);
      const { kind, format } = targetKind(target);
      const dir = backupsDir(manifest);
      const id = await artifactId(dir, `${manifest.app}-${target.name}-${request.stamp}`, request);
      const file = path.join(dir, `${id}.${EXTENSIONS[format]}`);
      const base = {
        id,
        app: manifest.app,
        target: target.name,
        kind,
        format,
        file,
        logicalDate: request.logicalDate,
        workflowId: request.workflowId,
        runId: request.runId,
      };

      if (existsSync(file)) {
        // Only a finished artifact is ever renamed to this name: an earlier attempt completed it.
        await removePartials(file);
        return {
          ...base,
          createdAt: new Date().toISOString(),
          bytes: sizeOfSync(file),
          sha256: await sha256Path(file),
        };
      }
      const started = Date.now();
      if ('postgres' in target) {
        const url = databaseUrl(manifest, target.postgres.urlEnv, `the database of backup target '${target.name}'`);
        await requireSchemas(url, target.name, target.postgres.schemas ?? [], manifest.app);
        const dump = await dumpDatabase({
          url,
          file,
          format: target.postgres.format,
          schemas: target.postgres.schemas,
          excludeSchemas: target.postgres.excludeSchemas,
          jobs: target.postgres.format === 'directory' ? target.postgres.jobs : undefined,
          compress: target.postgres.compress,
          binDir: binDir(),
          env: appEnvironment(manifest, config.env),
        });
        return {
          ...base,
          createdAt: new Date().toISOString(),
          durationMs: Date.now() - started,
          bytes: dump.bytes,
          sha256: dump.sha256,
        };
      }
      const missing = target.files.paths.filter((p) => !existsSync(p));
      if (missing.length > 0)
        throw failure(
          'BackupConfig',
          `backup target '${target.name}': ${missing.join(', ')} does not exist; fix backups.targets[].files.paths in ${manifest.app}'s manifest`,
        );
      await removePartials(file);
      const archive = await createArchive({
        format: format as ArchiveFormat,
        sources: target.files.paths,
        // Names relative to / record where each folder lives, so a restore puts it back in place.
        baseDir: '/',
        outFile: file,
        exclude: target.files.exclude,
      });
      return {
        ...base,
        createdAt: new Date().toISOString(),
        durationMs: Date.now() - started,
        bytes: archive.bytes,
        sha256: archive.sha256,
      };
    },

    /** Reads an artifact back in full: its checksum, then pg_restore --list or every archive entry. */
    async verifyBackupArtifact(
      artifact: Pick<BackupArtifact, 'file' | 'kind' | 'format' | 'sha256'>,
    ): Promise<VerificationResult> {
      try {
        const sha256 = await sha256Path(artifact.file);
        if (sha256 !== artifact.sha256)
          return {
            verified: false,
            detail: `checksum ${sha256.slice(0, 12)}… differs from ${artifact.sha256.slice(0, 12)}… recorded when it was written: the file is corrupt`,
          };
        if (artifact.kind === 'postgres') {
          const { entries } = await listDump({
            file: artifact.file,
            format: artifact.format as 'custom',
            binDir: binDir(),
            full: true,
          });
          return {
            verified: true,
            detail:
              artifact.format === 'plain'
                ? `read ${entries} SQL statements to the completion line`
                : `pg_restore --list read ${entries} entries; every data block read back`,
          };
        }
        const { entries, bytes } = await verifyArchive(artifact.file, artifact.format as ArchiveFormat);
        return { verified: true, detail: `read all ${entries} entries (${bytes} bytes)` };
      } catch (error) {
        return { verified: false, detail: (error as Error).message };
      }
    },

    /** Adds or updates an artifact's catalogue entry. */
    async recordBackup(request: { manifest: Manifest; entry: CatalogueEntry }): Promise<void> {
      await updateCatalogue(backupsDir(request.manifest), (catalogue) => upsertEntry(catalogue, request.entry));
    },

    /**
     * Restores a dump into a scratch database, runs the manifest's sanity query there, and drops the copy.
     * The query fails verification by raising an error, returning no row, or returning false/null.
     */
    async verifyBackupRestore(request: {
      manifest: Manifest;
      entry: CatalogueEntry;
      scratchDatabase: string;
    }): Promise<VerificationResult> {
      const { manifest, entry } = request;
      const check = manifest.backups?.verifyRestore;
      const target = findTarget(manifest, entry.target);
      if (!check || !('postgres' in target)) return { verified: true, detail: 'no verifyRestore for this target' };
      const url = databaseUrl(manifest, target.postgres.urlEnv, `the database of backup target '${target.name}'`);
      const scratchUrl = await createScratchDatabase(url, request.scratchDatabase);
      try {
        try {
          await restoreDatabase({
            url: scratchUrl,
            file: entry.file,
            format: target.postgres.format,
            clean: false,
            noOwner: true,
            binDir: binDir(),
            env: appEnvironment(manifest, config.env),
          });
        } catch (error) {
          return {
            verified: false,
            detail: `the dump did not restore into a scratch database: ${(error as Error).message}`,
          };
        }
        const result = await withPg(scratchUrl, (client) => sanityQuery(client, check.sanityQuery));
        return result.ok
          ? { verified: true, detail: `restored into a scratch database; sanity query ${result.detail}` }
          : { verified: false, detail: `sanity query on the restored copy ${result.detail}: ${check.sanityQuery}` };
      } finally {
        await dropDatabase(url, request.scratchDatabase);
      }
    },

    /**
     * Applies the manifest's `keep` rules to one target: deletes the artifacts outside them (files first,
     * then their entries, so a crash in between is finished by the retry). Unverified artifacts never
     * count toward a rule; the newest verified one is never deleted.
     */
    async applyBackupRetention(request: {
      manifest: Manifest;
      target: string;
    }): Promise<{ kept: string[]; deleted: string[]; plan: RetentionPlan }> {
      const { manifest } = request;
      const dir = backupsDir(manifest);
      const entries = (await readCatalogue(dir)).entries.filter(
        (e) => e.app === manifest.app && e.target === request.target && !e.localDeletedAt,
      );
      const plan = planRetention(
        entries.map((e) => ({ id: e.id, time: e.logicalDate, verified: e.verified, suspect: e.suspect !== undefined })),
        manifest.backups?.keep ?? {},
        { timeZone: retentionTimeZone(manifest) },
      );
      const doomed = new Set(plan.delete.map((d) => d.id));
      for (const entry of entries) if (doomed.has(entry.id)) await rm(entry.file, { recursive: true, force: true });
      const deletedAt = new Date().toISOString();
      await updateCatalogue(dir, (catalogue) => {
        // An artifact with a verified off-site copy stays listed: a restore can fetch it from there.
        catalogue.entries = catalogue.entries.flatMap((e) => {
          if (e.app !== manifest.app || !doomed.has(e.id)) return [e];
          return e.offsite?.verified ? [{ ...e, localDeletedAt: e.localDeletedAt ?? deletedAt }] : [];
        });
      });
      return { kept: plan.keep.map((k) => k.id), deleted: [...doomed], plan };
    },

    /**
     * Compares a new artifact with the recent verified ones of its target: much smaller (a `pg_dump | gzip`
     * that "succeeded" with nothing in it) or much faster than their median is suspect.
     */
    async assessBackup(request: { manifest: Manifest; entry: CatalogueEntry }): Promise<BackupAssessment> {
      const { manifest, entry } = request;
      const { history } = await readCatalogue(backupsDir(manifest));
      return assessBackup(entry, history, manifest.backups?.alerts ?? DEFAULT_BACKUP_ALERTS);
    },

    /** Each target's newest verified backup and whether it is older than the target's maximum age. */
    async checkBackupFreshness(request: { manifest: Manifest; watchingSince: string }): Promise<TargetFreshness[]> {
      const { entries } = await readCatalogue(backupsDir(request.manifest));
      return backupFreshness(request.manifest, entries, new Date(), new Date(request.watchingSince));
    },

    /** The app's catalogue entries, newest first. */
    async listBackups(request: { manifest: Manifest }): Promise<CatalogueEntry[]> {
      const { entries } = await readCatalogue(backupsDir(request.manifest));
      return entries
        .filter((e) => e.app === request.manifest.app)
        .sort((a, b) => b.logicalDate.localeCompare(a.logicalDate) || b.id.localeCompare(a.id));
    },
  };
}

/**
 * The plain id, unless another run already used it (two runs for the same time — the stamp counts whole
 * seconds): then a run suffix. An id is used while its entry is catalogued and, once retention removed the
 * entry, while its figures stay in the history; reusing it would overwrite those figures and, off-site, the
 * earlier artifact's copy.
 */
async function artifactId(
  dir: string,
  plain: string,
  request: Pick<BackupArtifactRequest, 'workflowId' | 'runId'>,
): Promise<string> {
  const catalogue = await readCatalogue(dir);
  const entry = catalogue.entries.find((e) => e.id === plain);
  const ours = entry?.workflowId === request.workflowId && entry?.runId === request.runId;
  const used = entry !== undefined || catalogue.history.some((h) => h.id === plain);
  if (ours || !used) return plain;
  // The random end of the run id: a UUIDv7 run id begins with a timestamp, shared by runs a minute apart.
  return `${plain}-${request.runId.replace(/-/g, '').slice(-8)}`;
}

/**
 * Every schema a target names must be there: pg_dump dumps the ones that match and skips a misspelt one
 * without a word, and no retry makes a schema appear.
 */
async function requireSchemas(url: string, target: string, patterns: readonly string[], app: string): Promise<void> {
  const present = await presentSchemaPatterns(url, patterns);
  const absent = patterns.filter((pattern) => !present.includes(pattern));
  if (absent.length > 0)
    throw failure(
      'BackupConfig',
      `backup target '${target}': no schema of the database matches ${absent.map((p) => `'${p}'`).join(', ')}; fix backups.targets[].postgres.schemas in ${app}'s manifest (or run the migration that creates the schema first)`,
    );
}
