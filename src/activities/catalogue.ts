import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../manifest/types';
import { writeFileAtomic } from './atomic-write';
import { withClaim } from './attempt';

/*
 * The backup catalogue: one JSON file in an app's backups folder listing every artifact (and every
 * restore) with its checksum and whether it was verified. Written whole to a temporary name and renamed,
 * so a reader (or a crash) never sees half a file.
 */

export type BackupKind = 'postgres' | 'files';

export interface CatalogueEntry {
  /** `<app>-<target>-<logical time>`: what `runbook restore` takes. */
  id: string;
  app: string;
  target: string;
  kind: BackupKind;
  /** custom | directory | plain for dumps, tar.gz | zip for files. */
  format: string;
  /** Absolute path of the artifact (a folder for directory-format dumps). */
  file: string;
  /** When the artifact was finished (worker clock). */
  createdAt: string;
  /** The time the run was for: the scheduled time for scheduled runs. */
  logicalDate: string;
  bytes: number;
  sha256: string;
  workflowId: string;
  runId: string;
  /** Read back in full (pg_restore --list, every archive entry) and, when asked, restored and queried. */
  verified: boolean;
  /** What verification checked, or why it failed. */
  verification?: string;
  /** Result of the manifest's verifyRestore, when it ran. */
  restoreVerified?: boolean;
}

export interface RestoreRecord {
  backup: string;
  app: string;
  target: string;
  workflowId: string;
  runId: string;
  scratch: boolean;
  /** Where the data went: the database or folders restored, or the scratch copy's name. */
  restoredTo: string[];
  /** Folders moved aside (`<path>_replaced_<time>`). */
  replaced: string[];
  outcome: 'succeeded' | 'failed';
  error?: string;
  finishedAt: string;
}

export interface Catalogue {
  version: 1;
  entries: CatalogueEntry[];
  restores: RestoreRecord[];
}

export const CATALOGUE_FILE = 'catalogue.json';
/** Held while the catalogue is changed, by whichever worker changes it. */
export const CATALOGUE_LOCK = '.catalogue.lock';

export function backupsDir(manifest: Pick<Manifest, 'root' | 'backups'>): string {
  return manifest.backups?.dir ?? path.join(manifest.root, 'backups');
}

export function cataloguePath(dir: string): string {
  return path.join(dir, CATALOGUE_FILE);
}

export async function readCatalogue(dir: string): Promise<Catalogue> {
  const file = cataloguePath(dir);
  if (!existsSync(file)) return { version: 1, entries: [], restores: [] };
  const text = await readFile(file, 'utf8');
  let parsed: Partial<Catalogue>;
  try {
    parsed = JSON.parse(text) as Partial<Catalogue>;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); fix or move it aside, then run again`, {
      cause: error,
    });
  }
  return { version: 1, entries: parsed.entries ?? [], restores: parsed.restores ?? [] };
}

/**
 * Reads, changes and rewrites a catalogue under an exclusive lock on `<catalogue>.lock` (a kernel flock,
 * released when its holder ends, however it ends), so changes from two workers of one host, or two
 * backups finishing together in one worker, both land.
 */
export async function updateCatalogue<T>(dir: string, change: (catalogue: Catalogue) => T): Promise<T> {
  const file = cataloguePath(dir);
  return withClaim(path.join(dir, CATALOGUE_LOCK), `another change to ${file}`, async () => {
    const catalogue = await readCatalogue(dir);
    const result = change(catalogue);
    writeFileAtomic(file, `${JSON.stringify(catalogue, null, 2)}\n`, 0o640);
    return result;
  });
}

/** Adds an entry, or replaces the one with the same id. */
export function upsertEntry(catalogue: Catalogue, entry: CatalogueEntry): void {
  const index = catalogue.entries.findIndex((e) => e.id === entry.id);
  if (index === -1) catalogue.entries.push(entry);
  else catalogue.entries[index] = entry;
  catalogue.entries.sort((a, b) => a.logicalDate.localeCompare(b.logicalDate) || a.id.localeCompare(b.id));
}
