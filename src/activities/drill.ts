import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from 'pg';
import type { Manifest } from '../manifest/types';
import { findTarget } from './backup-targets';
import {
  backupsDir,
  readCatalogue,
  updateCatalogue,
  type CatalogueEntry,
  type DrillRecord,
  type DrillSummary,
} from './catalogue';
import type { ActivityConfig } from './config';
import { appEnvironment } from './environment';
import { serviceUrlFromEnv } from './published';
import { dropDatabase, withDatabase, withPg } from './postgres';
import { failure } from '../common/failures';

/*
 * Restore drills: the evidence that a backup restores. The restore itself is the restore workflow's
 * activities (into a scratch database or folder); these find what to drill, look at what came back, clean up
 * and record the drill in the catalogue.
 */

export interface QueryResult {
  query: string;
  ok: boolean;
  /** The first value of the first row, or why it failed. */
  detail: string;
}

/** Runs a sanity query: it fails by raising an error, returning no row, or returning false/null. */
export async function sanityQuery(client: Client, query: string): Promise<QueryResult> {
  try {
    const result = await client.query(query);
    const first = result.rows[0] ? Object.values(result.rows[0] as Record<string, unknown>)[0] : undefined;
    if (result.rows.length === 0) return { query, ok: false, detail: 'returned no rows' };
    if (first === false || first === null) return { query, ok: false, detail: `returned ${String(first)}` };
    return { query, ok: true, detail: `returned ${String(first)}` };
  } catch (error) {
    return { query, ok: false, detail: `failed: ${(error as Error).message}` };
  }
}

export interface DrillEvidence {
  /** Row counts of every table of the restored database (schema.table → rows). */
  rows?: Record<string, number>;
  /** Files and bytes of the restored folder. */
  files?: { count: number; bytes: number };
  queries: QueryResult[];
}

/** The queries a drill of this target runs: backups.drill.queries, and verifyRestore's when it is this target. */
export function drillQueries(manifest: Manifest, target: string): string[] {
  const verify = manifest.backups?.verifyRestore;
  return [
    ...(manifest.backups?.drill?.queries ?? []),
    ...(verify && verify.target === target ? [verify.sanityQuery] : []),
  ];
}

export function drillActivities(config: ActivityConfig) {
  const databaseUrl = (manifest: Manifest, target: string) => {
    const found = findTarget(manifest, target);
    if (!('postgres' in found)) throw failure('BackupConfig', `backup target '${target}' is not a database`);
    return serviceUrlFromEnv(
      manifest,
      appEnvironment(manifest, config.env),
      found.postgres.urlEnv,
      `the database of backup target '${target}'`,
    );
  };

  return {
    /** The newest verified (and not suspect) backup of a target: what a restore today would use. */
    async newestVerifiedBackup(request: { manifest: Manifest; target: string }): Promise<CatalogueEntry> {
      const { manifest, target } = request;
      const candidates = (await readCatalogue(backupsDir(manifest))).entries
        .filter((e) => e.app === manifest.app && e.target === target && e.verified && !e.suspect)
        .sort((a, b) => b.logicalDate.localeCompare(a.logicalDate) || b.createdAt.localeCompare(a.createdAt));
      if (candidates.length === 0)
        throw failure(
          'NoVerifiedBackup',
          `no verified backup of ${target} to drill; make one with \`runbook backup ${manifest.app} --target ${target}\``,
        );
      return candidates[0];
    },

    /** Looks at the restored copy: row counts of every table and the sanity queries, or files and bytes. */
    async collectDrillEvidence(request: {
      manifest: Manifest;
      entry: CatalogueEntry;
      restoredTo: string;
    }): Promise<DrillEvidence> {
      const { manifest, entry, restoredTo } = request;
      if (entry.kind === 'files') return { files: await countFiles(restoredTo), queries: [] };
      const url = withDatabase(databaseUrl(manifest, entry.target), restoredTo);
      return withPg(url, async (client) => {
        const tables = await client.query<{ name: string }>(
          `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_catalog.pg_tables
            WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 500`,
        );
        const rows: Record<string, number> = {};
        for (const { name } of tables.rows)
          rows[name] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0].n);
        const queries: QueryResult[] = [];
        for (const query of drillQueries(manifest, entry.target)) queries.push(await sanityQuery(client, query));
        return { rows, queries };
      });
    },

    /** Drops the scratch database or folder of a drill; nothing there is worth keeping. */
    async dropDrillCopy(request: { manifest: Manifest; entry: CatalogueEntry; restoredTo: string }): Promise<void> {
      const { manifest, entry, restoredTo } = request;
      if (entry.kind === 'files') {
        const scratch = path.join(backupsDir(manifest), 'scratch');
        if (!path.resolve(restoredTo).startsWith(`${scratch}${path.sep}`))
          throw failure('BadInput', `refusing to delete ${restoredTo}: not a scratch folder`);
        await rm(restoredTo, { recursive: true, force: true });
        return;
      }
      await dropDatabase(databaseUrl(manifest, entry.target), restoredTo);
    },

    /** Records a drill in the catalogue (once per run and backup) and as the artifact's last drill. */
    async recordDrill(request: { manifest: Manifest; record: DrillRecord }): Promise<void> {
      const { record } = request;
      const summary: DrillSummary = {
        outcome: record.outcome,
        finishedAt: record.finishedAt,
        rtoMs: record.rtoMs,
        workflowId: record.workflowId,
        ...(record.error ? { error: record.error } : {}),
        ...(record.rows ? { tables: Object.keys(record.rows).length } : {}),
        ...(record.rows ? { rows: Object.values(record.rows).reduce((a, b) => a + b, 0) } : {}),
        ...(record.files ? { files: record.files.count } : {}),
      };
      await updateCatalogue(backupsDir(request.manifest), (catalogue) => {
        catalogue.drills = catalogue.drills.filter(
          (d) => !(d.workflowId === record.workflowId && d.runId === record.runId && d.backup === record.backup),
        );
        catalogue.drills.push(record);
        const entry = catalogue.entries.find((e) => e.id === record.backup);
        if (entry) entry.lastDrill = summary;
      });
    },
  };
}

async function countFiles(dir: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const name of await readdir(dir)) {
    const full = path.join(dir, name);
    const stats = await lstat(full);
    if (stats.isDirectory()) {
      const inner = await countFiles(full);
      count += inner.count;
      bytes += inner.bytes;
    } else {
      count += 1;
      bytes += stats.size;
    }
  }
  return { count, bytes };
}
