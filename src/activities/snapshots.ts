import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../manifest/types';
import type { ActivityConfig } from './config';
import { appEnvironment } from './environment';
import { serviceUrlFromEnv } from './published';
import { appPaths } from '../common/names';
import { dumpDatabase, pgBinDir, restoreDatabase } from './postgres';
import { failure } from '../common/failures';

/** The database snapshot a deploy takes just before its migrations, restored only per rollback.database. */
export function databaseSnapshotFile(manifest: Manifest, deployId: string): string {
  return path.join(appPaths(manifest).snapshotsDir, `${manifest.app}-${deployId}.dump`);
}

function snapshotSettings(manifest: Manifest) {
  const database = manifest.snapshot.database;
  if (!database) throw failure('BadManifest', 'the manifest has no snapshot.database section');
  return database;
}

export function snapshotActivities(config: ActivityConfig) {
  return {
    /** pg_dump (custom format) into <state>/snapshots; written under a temporary name, so a retry redoes an unfinished dump. */
    async snapshotDatabase(request: {
      manifest: Manifest;
      deployId: string;
    }): Promise<{ file: string; bytes: number }> {
      const { manifest } = request;
      const database = snapshotSettings(manifest);
      const file = databaseSnapshotFile(manifest, request.deployId);
      if (existsSync(file)) return { file, bytes: statSync(file).size };
      const env = appEnvironment(manifest, config.env);
      const url = serviceUrlFromEnv(manifest, env, database.urlEnv, 'snapshot.database.urlEnv');
      await dumpDatabase({ url, file, format: 'custom', schemas: database.schemas, binDir: pgBinDir(env), env });
      return { file, bytes: statSync(file).size };
    },

    /** pg_restore --clean --if-exists of the deploy's snapshot: discards writes made since (hence a policy). */
    async restoreDatabaseSnapshot(request: { manifest: Manifest; deployId: string }): Promise<string> {
      const { manifest } = request;
      const database = snapshotSettings(manifest);
      const file = databaseSnapshotFile(manifest, request.deployId);
      if (!existsSync(file)) return `no snapshot was taken (${file}); nothing to restore`;
      const env = appEnvironment(manifest, config.env);
      const url = serviceUrlFromEnv(manifest, env, database.urlEnv, 'snapshot.database.urlEnv');
      await restoreDatabase({
        url,
        file,
        format: 'custom',
        clean: true,
        schemas: database.schemas,
        binDir: pgBinDir(env),
        env,
      });
      return `restored the database from ${file}`;
    },
  };
}
