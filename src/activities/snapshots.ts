import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../manifest/types';
import { writeFileAtomic } from './atomic-write';
import type { ActivityConfig } from './config';
import { appEnvironment } from './environment';
import { serviceUrlFromEnv } from './published';
import { appPaths } from '../common/names';
import { dumpDatabase, pgBinDir, presentSchemaPatterns, restoreDatabase } from './postgres';
import { failure } from '../common/failures';

/*
 * The database snapshot a deploy takes just before its migrations, restored only per rollback.database: a
 * custom-format dump of `snapshot.database.schemas` that exist (the whole database when none is listed), or,
 * when none of them exists yet (the first deploy's migration creates them), a plain SQL file that restores
 * nothing: restoring either first drops every listed schema, so the database ends as it was before the deploy.
 */
const EXTENSION = { custom: '.dump', plain: '.sql' } as const;

export function databaseSnapshotFile(
  manifest: Manifest,
  deployId: string,
  format: keyof typeof EXTENSION = 'custom',
): string {
  return path.join(appPaths(manifest).snapshotsDir, `${manifest.app}-${deployId}${EXTENSION[format]}`);
}

/** Every database snapshot of the app's deploys, by deploy id. */
export async function listDatabaseSnapshots(manifest: Manifest): Promise<Array<{ deployId: string; file: string }>> {
  const dir = appPaths(manifest).snapshotsDir;
  const prefix = `${manifest.app}-`;
  const snapshots: Array<{ deployId: string; file: string }> = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const extension = Object.values(EXTENSION).find((e) => name.endsWith(e));
    if (name.startsWith(prefix) && extension)
      snapshots.push({ deployId: name.slice(prefix.length, -extension.length), file: path.join(dir, name) });
  }
  return snapshots;
}

/** The snapshot a deploy took, if it took one. */
function takenSnapshot(manifest: Manifest, deployId: string) {
  for (const format of ['custom', 'plain'] as const) {
    const file = databaseSnapshotFile(manifest, deployId, format);
    if (existsSync(file)) return { file, format };
  }
  return undefined;
}

function snapshotSettings(manifest: Manifest) {
  const database = manifest.snapshot.database;
  if (!database) throw failure('BadManifest', 'the manifest has no snapshot.database section');
  return database;
}

export function snapshotActivities(config: ActivityConfig) {
  return {
    /**
     * pg_dump (custom format) into <state>/snapshots; written under a temporary name, so a retry redoes an
     * unfinished dump. Listed schemas that do not exist yet are left out of the dump.
     */
    async snapshotDatabase(request: {
      manifest: Manifest;
      deployId: string;
    }): Promise<{ file: string; bytes: number }> {
      const { manifest, deployId } = request;
      const database = snapshotSettings(manifest);
      const taken = takenSnapshot(manifest, deployId);
      if (taken) return { file: taken.file, bytes: statSync(taken.file).size };
      const env = appEnvironment(manifest, config.env);
      const url = serviceUrlFromEnv(manifest, env, database.urlEnv, 'snapshot.database.urlEnv');
      const schemas = database.schemas.length > 0 ? await presentSchemaPatterns(url, database.schemas) : [];
      if (database.schemas.length > 0 && schemas.length === 0) {
        const file = databaseSnapshotFile(manifest, deployId, 'plain');
        await writeFileAtomic(
          file,
          `-- no schema matching ${database.schemas.join(', ')} existed before deploy ${deployId}: nothing to restore\n`,
          0o600,
        );
        return { file, bytes: statSync(file).size };
      }
      const file = databaseSnapshotFile(manifest, deployId);
      await dumpDatabase({ url, file, format: 'custom', schemas, binDir: pgBinDir(env), env });
      return { file, bytes: statSync(file).size };
    },

    /** Drops the listed schemas (every user schema) and restores the deploy's snapshot: discards writes made since (hence a policy). */
    async restoreDatabaseSnapshot(request: { manifest: Manifest; deployId: string }): Promise<string> {
      const { manifest } = request;
      const database = snapshotSettings(manifest);
      const taken = takenSnapshot(manifest, request.deployId);
      if (!taken)
        return `no snapshot was taken (${databaseSnapshotFile(manifest, request.deployId)}); nothing to restore`;
      const env = appEnvironment(manifest, config.env);
      const url = serviceUrlFromEnv(manifest, env, database.urlEnv, 'snapshot.database.urlEnv');
      await restoreDatabase({
        url,
        file: taken.file,
        format: taken.format,
        clean: true,
        schemas: database.schemas,
        binDir: pgBinDir(env),
        env,
      });
      return `restored the database from ${taken.file}`;
    },
  };
}
