import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { Catalogue } from '../../src/activities/catalogue';
import { loadManifestFile } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { createDatabase, queryColumn, sql } from './postgres';
import { uniqueName } from './temporal';

/** A throwaway app with a real database and an uploads folder, backed up to its own folder. */
export interface BackupApp {
  app: string;
  host: string;
  root: string;
  backupsDir: string;
  uploads: string;
  manifestsDir: string;
  databaseName: string;
  databaseUrl: string;
  /** The variable the manifest names for the database URL; the worker's env maps it to databaseUrl. */
  urlEnv: string;
  /** The worker environment this app needs (its database URL, the PostgreSQL tools folder). */
  env: NodeJS.ProcessEnv;
}

export interface BackupAppOptions {
  prefix?: string;
  manifestsDir?: string;
  /** Overrides of the manifest's backups section. */
  backups?: Record<string, unknown>;
  orders?: number;
  services?: unknown[];
  /** More top-level manifest keys (schedules, jobs). */
  extra?: Record<string, unknown>;
}

export async function createBackupApp(options: BackupAppOptions = {}): Promise<BackupApp> {
  const app = uniqueName(options.prefix ?? 'shop');
  const host = uniqueName('host');
  const root = mkdtempSync(path.join(os.tmpdir(), `runbook-${app}-`));
  const manifestsDir = options.manifestsDir ?? path.join(root, 'manifests');
  const backupsDir = path.join(root, 'backups');
  const uploads = path.join(root, 'shared', 'uploads');
  mkdirSync(manifestsDir, { recursive: true });
  mkdirSync(path.join(uploads, 'invoices'), { recursive: true });
  writeFileSync(path.join(uploads, 'invoices', '2025-001.pdf'), 'invoice 1');
  writeFileSync(path.join(uploads, 'logo.png'), 'logo');
  writeFileSync(path.join(uploads, 'upload-in-progress.tmp'), 'half an upload');

  const databaseName = app.replace(/-/g, '_');
  const databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL as string, databaseName);
  await sql(
    databaseUrl,
    `
    CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE public.orders (id int PRIMARY KEY, customer int REFERENCES public.customers, total numeric(10,2) NOT NULL);
    INSERT INTO public.customers SELECT i, 'customer ' || i FROM generate_series(1, 200) AS i;
    INSERT INTO public.orders SELECT i, 1 + i % 200, (i * 7 % 1000) / 10.0 FROM generate_series(1, ${options.orders ?? 2000}) AS i;
  `,
  );
  const urlEnv = `${databaseName.toUpperCase()}_DATABASE_URL`;
  const manifest = {
    app,
    host,
    root,
    source: { type: 'copy', from: path.join(root, 'staging') },
    services: options.services ?? [],
    backups: {
      dir: backupsDir,
      targets: [
        { name: 'db', postgres: { urlEnv, format: 'custom' } },
        { name: 'uploads', files: { paths: [uploads], format: 'zip', exclude: ['*.tmp'] } },
      ],
      keep: { last: 2 },
      verifyRestore: { target: 'db', sanityQuery: 'SELECT count(*) > 0 FROM public.orders' },
      ...options.backups,
    },
    ...options.extra,
  };
  writeFileSync(path.join(manifestsDir, `${app}.yaml`), stringify(manifest));
  return {
    app,
    host,
    root,
    backupsDir,
    uploads,
    manifestsDir,
    databaseName,
    databaseUrl,
    urlEnv,
    env: { [urlEnv]: databaseUrl, RUNBOOK_PG_BIN: process.env.RUNBOOK_TEST_PG_BIN },
  };
}

/** Rewrites the app's manifest with changes to its top-level keys, and returns it as the workers will load it. */
export function rewriteManifest(app: BackupApp, change: (manifest: Record<string, unknown>) => void): Manifest {
  const file = path.join(app.manifestsDir, `${app.app}.yaml`);
  const raw = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(raw);
  writeFileSync(file, stringify(raw));
  return loadAppManifest(app);
}

export function loadAppManifest(app: BackupApp): Manifest {
  const loaded = loadManifestFile(path.join(app.manifestsDir, `${app.app}.yaml`));
  if (!loaded.ok) throw new Error(`test manifest invalid: ${JSON.stringify(loaded.problems)}`);
  return loaded.manifest;
}

export function readCatalogueFile(app: BackupApp): Catalogue {
  return JSON.parse(readFileSync(path.join(app.backupsDir, 'catalogue.json'), 'utf8')) as Catalogue;
}

export async function queryValue(url: string, text: string): Promise<unknown> {
  return (await queryColumn(url, text))[0];
}

/** Row count and a hash of every row in key order: equal fingerprints mean equal contents. */
export async function fingerprint(url: string, table: string): Promise<string> {
  return String(
    await queryValue(
      url,
      `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY id)), '') FROM ${table} t`,
    ),
  );
}

export async function databaseExists(name: string): Promise<boolean> {
  return (
    (await queryValue(
      process.env.RUNBOOK_TEST_PG_URL as string,
      `SELECT count(*)::int FROM pg_database WHERE datname = '${name}'`,
    )) === 1
  );
}
