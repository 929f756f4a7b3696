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
  /** How long the dump or archive took. */
  durationMs?: number;
  /** Why the artifact looks wrong next to the recent ones (much smaller, much faster), when it does. */
  suspect?: string;
  /** The latest restore drill of this artifact. */
  lastDrill?: DrillSummary;
  /** The copy in S3-compatible storage (backups.offsite), once uploaded. */
  offsite?: OffsiteCopy;
  /** When retention deleted the local file; the off-site copy is still there to restore from. */
  localDeletedAt?: string;
}

/** An artifact's off-site copy: where it is and the checksum of the bytes stored there. */
export interface OffsiteCopy {
  bucket: string;
  key: string;
  /** Size and sha256 of the object as stored (after encryption, when encrypted). */
  bytes: number;
  sha256: string;
  /** Encrypted with age for the manifest's recipients: only their private keys can read it. */
  encrypted: boolean;
  uploadedAt: string;
  /** Read back in full from the storage and its sha256 matched. */
  verified: boolean;
  verification?: string;
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

/** A restore drill: the newest backup restored into a throwaway copy, looked at, timed and dropped. */
export interface DrillRecord {
  backup: string;
  app: string;
  target: string;
  workflowId: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  /** Time to restore: from fetching (or checking) the artifact to the sanity queries done. */
  rtoMs?: number;
  outcome: 'succeeded' | 'failed';
  error?: string;
  /** Row counts per table of the restored database. */
  rows?: Record<string, number>;
  /** Files and bytes of a restored folder. */
  files?: { count: number; bytes: number };
  queries?: Array<{ query: string; ok: boolean; detail: string }>;
}

/** What `runbook backups` shows of an artifact's last drill. */
export interface DrillSummary {
  outcome: 'succeeded' | 'failed';
  finishedAt: string;
  rtoMs?: number;
  workflowId: string;
  error?: string;
  tables?: number;
  rows?: number;
  files?: number;
}

/** A verified artifact's size and time, kept after retention deletes it: what new backups are compared with. */
export type BackupFigures = Pick<
  CatalogueEntry,
  'id' | 'app' | 'target' | 'logicalDate' | 'createdAt' | 'bytes' | 'durationMs'
>;

/** Figures kept per app and target. */
const FIGURES_KEPT = 50;

export interface Catalogue {
  version: 1;
  entries: CatalogueEntry[];
  restores: RestoreRecord[];
  /** Figures of the recent verified artifacts, newest last, per app and target (at most 50 each). */
  history: BackupFigures[];
  drills: DrillRecord[];
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
  if (!existsSync(file)) return { version: 1, entries: [], restores: [], history: [], drills: [] };
  const text = await readFile(file, 'utf8');
  let parsed: Partial<Catalogue>;
  try {
    parsed = JSON.parse(text) as Partial<Catalogue>;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); fix or move it aside, then run again`, {
      cause: error,
    });
  }
  return {
    version: 1,
    entries: parsed.entries ?? [],
    restores: parsed.restores ?? [],
    history: parsed.history ?? [],
    drills: parsed.drills ?? [],
  };
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
    await writeFileAtomic(file, `${JSON.stringify(catalogue, null, 2)}\n`, 0o640);
    return result;
  });
}

/** Adds an entry, or replaces the one with the same id; a verified one's figures join the history. */
export function upsertEntry(catalogue: Catalogue, entry: CatalogueEntry): void {
  if (entry.verified) {
    const { id, app, target, logicalDate, createdAt, bytes, durationMs } = entry;
    catalogue.history = catalogue.history.filter((h) => h.id !== id);
    catalogue.history.push({ id, app, target, logicalDate, createdAt, bytes, ...(durationMs ? { durationMs } : {}) });
    const same = catalogue.history.filter((h) => h.app === app && h.target === target);
    if (same.length > FIGURES_KEPT) {
      const dropped = new Set(same.slice(0, same.length - FIGURES_KEPT).map((h) => h.id));
      catalogue.history = catalogue.history.filter((h) => !dropped.has(h.id));
    }
  }
  const index = catalogue.entries.findIndex((e) => e.id === entry.id);
  if (index === -1) catalogue.entries.push(entry);
  else catalogue.entries[index] = entry;
  catalogue.entries.sort((a, b) => a.logicalDate.localeCompare(b.logicalDate) || a.id.localeCompare(b.id));
}
