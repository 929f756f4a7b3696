import { randomBytes } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { fsyncFile } from './atomic-write';
import { sha256File, sizeOfSync } from './checksum';
import path from 'node:path';
import { type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { Minimatch } from 'minimatch';
import * as tar from 'tar';
import * as yauzl from 'yauzl';
import { reportProgress, throwIfCancelled } from './attempt';
import { tarCreateArgv, untarArgv, unzipArgv, zipCreateCommand } from './commands/files';
import { removePartials, runTool } from './files';

/*
 * Archives of folders for backups and in-place deploy snapshots. Node walks the folders and picks the entries
 * (excludes, link rules); `zip` or GNU `tar` packs exactly those into a private staging folder beside the
 * archive, and the archive is renamed to its name only when complete. Extraction refuses any entry that would
 * land outside its target folder.
 */

export type ArchiveFormat = 'zip' | 'tar.gz';

export interface CreateArchiveOptions {
  format: ArchiveFormat;
  /** Folders or files to archive. */
  sources: string[];
  /** Entry names are relative to this folder (default: the common parent of the sources). */
  baseDir?: string;
  outFile: string;
  /**
   * Patterns matched against each path relative to its source folder: a pattern without `/` matches a
   * name at any depth (`venv`, `*.log`), one with `/` matches from the source's root, a trailing `/`
   * matches folders only.
   */
  exclude?: string[];
}

export interface ArchiveResult {
  bytes: number;
  sha256: string;
  entries: number;
  /** Symbolic links left out because they point outside the archived folders (extraction would refuse them). */
  skipped: string[];
}

interface SourceEntry {
  /** Name inside the archive (POSIX separators, relative). */
  name: string;
  /** For a link to an absolute path inside the archived folders: the same target, made relative. */
  relativeLink?: string;
}

/** A zip of no entries: its end-of-central-directory record alone (zip refuses to write one). */
const EMPTY_ZIP = Buffer.concat([Buffer.from('PK\x05\x06'), Buffer.alloc(18)]);

export async function createArchive(options: CreateArchiveOptions): Promise<ArchiveResult> {
  if (options.sources.length === 0) throw new Error('createArchive: expected at least one source folder or file');
  const sources = options.sources.map((s) => path.resolve(s));
  const baseDir = path.resolve(options.baseDir ?? commonParent(sources));
  const { entries, skipped } = await collectEntries(sources, baseDir, options.exclude ?? []);

  const outFile = path.resolve(options.outFile);
  await mkdir(path.dirname(outFile), { recursive: true });
  // Private to this attempt: the tool's output, its temporary files and the rewritten links, all removed at
  // the end; what a killed attempt left is a `<outFile>.partial-*` that the next one removes (removePartials).
  const staging = `${outFile}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const staged = path.join(staging, `archive.${options.format}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    const linksDir = path.join(staging, 'links');
    const rewritten = entries.filter((e) => e.relativeLink !== undefined);
    for (const link of rewritten) {
      const at = path.join(linksDir, link.name);
      await mkdir(path.dirname(at), { recursive: true });
      await symlink(link.relativeLink as string, at);
    }
    const packing = {
      file: staged,
      label: `archiving ${sources.join(', ')} into ${outFile}`,
      // zip writes into a temporary file beside the archive and renames it at the end: count the whole folder.
      details: () => ({ archiving: outFile, entries: entries.length, bytes: sizeOfSync(staging) }),
      baseDir,
      names: entries.filter((e) => e.relativeLink === undefined).map((e) => e.name),
      links: { dir: linksDir, names: rewritten.map((e) => e.name) },
    };
    await (options.format === 'zip' ? packZip(packing) : packTar(packing, path.join(staging, 'links.list')));
    throwIfCancelled();
    const bytes = (await stat(staged)).size;
    let hashed = 0;
    reportProgress(() => ({ hashing: outFile, bytes, hashed }));
    const sha256 = await sha256File(staged, (chunk) => (hashed += chunk));
    await chmod(staged, 0o600); // an archive may hold secrets (an app's .env): its owner's alone
    await fsyncFile(staged);
    throwIfCancelled();
    await rename(staged, outFile);
    await rm(staging, { recursive: true, force: true });
    return { bytes, sha256, entries: entries.length, skipped };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

interface Packing {
  file: string;
  label: string;
  details: () => Record<string, unknown>;
  /** The entries' names, relative to baseDir. */
  baseDir: string;
  names: string[];
  /** Links whose target was rewritten, made under the same names in `dir`. */
  links: { dir: string; names: string[] };
}

async function packTar(packing: Packing, linksList: string): Promise<void> {
  const nulSeparated = (names: string[]) => names.map((n) => `${n}\0`).join('');
  const hasLinks = packing.links.names.length > 0;
  if (hasLinks) await writeFile(linksList, nulSeparated(packing.links.names));
  await runTool(
    tarCreateArgv(packing.file, packing.baseDir, hasLinks ? { dir: packing.links.dir, list: linksList } : undefined),
    packing.label,
    {
      input: nulSeparated(packing.names),
      details: packing.details,
      // GNU tar's "file changed as we read it" (a log being written): the archive is whole, with the file as read.
      alsoSucceeds: [1],
    },
  );
}

async function packZip(packing: Packing): Promise<void> {
  const passes = [
    { cwd: packing.baseDir, names: packing.names },
    { cwd: packing.links.dir, names: packing.links.names },
  ].filter((pass) => pass.names.length > 0);
  if (passes.length === 0) await writeFile(packing.file, EMPTY_ZIP);
  // The second pass adds the rewritten links to the zip the first wrote.
  for (const pass of passes) {
    const { argv, input } = zipCreateCommand(packing.file, pass.names);
    await runTool(argv, packing.label, { cwd: pass.cwd, input, details: packing.details });
  }
}

function commonParent(sources: string[]): string {
  const parents = sources.map((s) => path.dirname(s).split(path.sep));
  const common: string[] = [];
  for (let i = 0; parents.every((p) => i < p.length && p[i] === parents[0][i]); i++) common.push(parents[0][i]);
  return common.join(path.sep) || path.sep;
}

async function collectEntries(
  sources: string[],
  baseDir: string,
  exclude: string[],
): Promise<{ entries: SourceEntry[]; skipped: string[] }> {
  const excluded = excluder(exclude);
  const entries: SourceEntry[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();

  type Kind = Pick<Dirent, 'isDirectory' | 'isSymbolicLink' | 'isFile'>;
  // `name` is the entry's name in the archive, `fromSource` its path below its source (what excludes match).
  // Only folders and links need to wait on the file system: a file is listed at once.
  const add = (absolute: string, name: string, fromSource: string, kind: Kind): Promise<void> | undefined => {
    if (seen.has(absolute)) return;
    if (seen.size % 500 === 0) throwIfCancelled();
    const isDir = kind.isDirectory();
    if (fromSource && excluded(fromSource, isDir)) return;
    seen.add(absolute);
    if (kind.isSymbolicLink()) return addLink(absolute, name);
    if (isDir) return addFolder(absolute, name, fromSource);
    if (kind.isFile()) entries.push({ name });
    // sockets, fifos and devices are not content worth keeping
  };
  const addFolder = async (absolute: string, name: string, fromSource: string) => {
    if (name) entries.push({ name });
    const children = (await readdir(absolute, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const child of children)
      await add(path.join(absolute, child.name), joinPosix(name, child.name), joinPosix(fromSource, child.name), child);
  };
  const addLink = async (absolute: string, name: string) => {
    const target = await readlink(absolute);
    const resolved = path.resolve(path.dirname(absolute), target);
    if (!sources.some((s) => isInside(resolved, s))) {
      skipped.push(absolute);
      return;
    }
    // An absolute link into the tree would point outside wherever the archive is extracted.
    const relativeLink = path.isAbsolute(target) ? path.relative(path.dirname(absolute), resolved) || '.' : undefined;
    entries.push({ name, relativeLink });
  };

  for (const source of sources) {
    if (!isInside(source, baseDir)) throw new Error(`createArchive: source ${source} is not inside baseDir ${baseDir}`);
    const stats = await lstat(source).catch(() => undefined);
    if (!stats) throw new Error(`createArchive: ${source} does not exist`);
    await add(source, path.relative(baseDir, source).split(path.sep).join('/'), '', stats);
  }
  return { entries, skipped };
}

function joinPosix(a: string, b: string): string {
  return a ? `${a}/${b}` : b;
}

/** The exclude test of `createArchive`, exported for the in-place deploy's copy step. */
export function excluder(patterns: readonly string[]): (relative: string, isDir: boolean) => boolean {
  const compiled = patterns
    .map((p) => p.trim())
    .filter(Boolean)
    .map((pattern) => {
      const dirOnly = pattern.endsWith('/');
      const body = pattern.replace(/\/+$/, '').replace(/^\.?\//, '');
      return { dirOnly, matcher: new Minimatch(body, { dot: true, matchBase: !body.includes('/') }) };
    });
  return (relative, isDir) => compiled.some(({ dirOnly, matcher }) => (!dirOnly || isDir) && matcher.match(relative));
}

// ---- verification ---------------------------------------------------------------------------------

/** Reads every entry of an archive to the end, checking its checksums; throws when anything is corrupt. */
export async function verifyArchive(file: string, format: ArchiveFormat): Promise<{ entries: number; bytes: number }> {
  try {
    return format === 'zip' ? await verifyZip(file) : await verifyTar(file);
  } catch (error) {
    throw new Error(`${file} is not a readable ${format} archive: ${(error as Error).message}`, { cause: error });
  }
}

async function verifyZip(file: string): Promise<{ entries: number; bytes: number }> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, validateEntrySizes: true });
  let entries = 0;
  let bytes = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      entries++;
      if (entry.fileName.endsWith('/')) continue;
      const stream = await zip.openReadStreamPromise(entry);
      let crc = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        crc = crc32(chunk, crc);
        bytes += chunk.length;
      }
      if (crc >>> 0 !== entry.crc32 >>> 0) throw new Error(`entry ${entry.fileName}: checksum mismatch`);
    }
  } finally {
    zip.close();
  }
  return { entries, bytes };
}

async function verifyTar(file: string): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      entries++;
      entry.on('data', (chunk: Buffer) => (bytes += chunk.length));
    },
  });
  await pipeline(createReadStream(file), parser as unknown as NodeJS.WritableStream);
  if (entries === 0) throw new Error('no entries');
  return { entries, bytes };
}

// ---- extraction -----------------------------------------------------------------------------------

interface ListedEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  linkTarget?: string;
}

export class UnsafeArchiveError extends Error {}

/**
 * Extracts an archive into `targetDir`, which must be missing or empty. Every entry is checked: an absolute
 * name, a `..` segment, a link pointing outside the target, a device, or an entry beneath a link of the
 * archive refuses the whole archive, and nothing reaches the target. `tar` or `unzip` extracts meanwhile into
 * a new folder beside the target, private to this user (0700) until the check passed and the tool finished,
 * then renamed into place; on refusal or failure it is stopped and the folder removed. The tools keep every
 * entry inside that folder on their own (no absolute names, no `..`, an archive's links created last), so
 * nothing is written outside it even before the check is done, and nothing already on disk — a link in the
 * target, a half-extracted earlier attempt — is written through.
 */
export async function extractArchive(options: {
  file: string;
  format: ArchiveFormat;
  targetDir: string;
}): Promise<{ entries: number }> {
  const file = path.resolve(options.file);
  const targetDir = path.resolve(options.targetDir);
  const present = await readdir(targetDir).catch(() => [] as string[]);
  if (present.length > 0)
    throw new Error(`extractArchive: ${targetDir} is not empty; extract into a new folder (nothing was extracted)`);
  await mkdir(path.dirname(targetDir), { recursive: true });
  await removePartials(targetDir);
  const staging = `${targetDir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const tree = path.join(staging, 'tree');
  await mkdir(staging, { mode: 0o700 });
  try {
    await mkdir(tree);
    const stop = new AbortController();
    const argv = options.format === 'zip' ? unzipArgv(file, tree) : untarArgv(file, tree);
    const extracting = runTool(argv, `extracting ${file}`, {
      details: () => ({ extracting: file, into: targetDir }),
      abort: stop.signal,
    });
    extracting.catch(() => undefined); // awaited once the check is done; this only marks it handled meanwhile
    let listed: ListedEntry[];
    try {
      listed = options.format === 'zip' ? await listZip(file) : await listTar(file);
      checkEntries(listed, targetDir);
    } catch (error) {
      stop.abort();
      await extracting.catch(() => undefined);
      throw error;
    }
    await extracting;
    await rename(tree, targetDir);
    await rm(staging, { recursive: true, force: true });
    return { entries: listed.length };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

function checkEntries(entries: ListedEntry[], targetDir: string): void {
  const linkTargets = new Map(
    entries.filter((e) => e.type === 'symlink').map((e) => [trimSlashes(e.name), e.linkTarget ?? '']),
  );
  const links = new Set(linkTargets.keys());
  for (const entry of entries) {
    const name = trimSlashes(entry.name);
    const refuse = (why: string) => {
      throw new UnsafeArchiveError(`refusing to extract: entry '${entry.name}' ${why}; nothing was extracted`);
    };
    if (entry.name.startsWith('/') || /^[A-Za-z]:/.test(entry.name)) refuse('has an absolute path');
    if (name.split(/[/\\]/).includes('..')) refuse("contains '..'");
    const destination = path.resolve(targetDir, name);
    if (!isInside(destination, targetDir)) refuse(`would be written outside ${targetDir}`);
    if (entry.type === 'other') refuse('is a device or special file');
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++)
      if (links.has(parts.slice(0, i).join('/'))) refuse(`lies beneath the link '${parts.slice(0, i).join('/')}'`);
    if (entry.type === 'symlink') {
      const target = entry.linkTarget ?? '';
      if (path.isAbsolute(target) ? !isInside(target, targetDir) : escapes(name, target, linkTargets))
        refuse(`is a link to '${target}', outside ${targetDir}`);
    }
    if (entry.type === 'hardlink') {
      const target = entry.linkTarget ?? '';
      if (
        path.isAbsolute(target) ||
        target.split('/').includes('..') ||
        !isInside(path.resolve(targetDir, target), targetDir)
      )
        refuse(`is a hard link to '${target}', outside ${targetDir}`);
    }
  }
}

/**
 * Whether the relative link `target` of the entry `name` leads outside the target folder once extracted: the
 * path is walked as the kernel walks it, following the archive's own links on the way (`y -> .` then
 * `x -> y/..` ends above the target, though `y/..` reads as inside). An absolute link, or more than 40 links
 * in a row, count as outside.
 */
function escapes(name: string, target: string, links: ReadonlyMap<string, string>): boolean {
  const at = name.split('/').slice(0, -1);
  const pending = target.split('/').reverse();
  let followed = 0;
  while (pending.length > 0) {
    const part = pending.pop() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at.length === 0) return true;
      at.pop();
      continue;
    }
    at.push(part);
    const link = links.get(at.join('/'));
    if (link === undefined) continue;
    if (path.isAbsolute(link) || ++followed > 40) return true;
    at.pop();
    pending.push(...link.split('/').reverse());
  }
  return false;
}

function trimSlashes(name: string): string {
  return name.replace(/\/+$/, '').replace(/^\.\//, '');
}

async function listTar(file: string): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  await tar.list({
    file,
    strict: true,
    onReadEntry: (entry) => {
      const type = entry.type;
      entries.push({
        name: entry.path,
        type:
          type === 'File' || type === 'OldFile' || type === 'ContiguousFile'
            ? 'file'
            : type === 'Directory'
              ? 'dir'
              : type === 'SymbolicLink'
                ? 'symlink'
                : type === 'Link'
                  ? 'hardlink'
                  : 'other',
        linkTarget: entry.linkpath,
      });
    },
  });
  return entries;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;

function zipMode(entry: yauzl.Entry): number {
  return (entry.externalFileAttributes >>> 16) & 0xffff;
}

function zipType(entry: yauzl.Entry): ListedEntry['type'] {
  const mode = zipMode(entry);
  if (zipName(entry).endsWith('/') || (mode & S_IFMT) === S_IFDIR) return 'dir';
  if ((mode & S_IFMT) === S_IFLNK) return 'symlink';
  if (mode === 0 || (mode & S_IFMT) === 0o100000) return 'file';
  return 'other';
}

async function openZip(file: string): Promise<yauzl.ZipFile> {
  // File names are checked here rather than by yauzl, so a bad entry gets this module's refusal message.
  return yauzl.openPromise(file, {
    lazyEntries: true,
    validateEntrySizes: true,
    strictFileNames: false,
    decodeStrings: false,
  });
}

function zipName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function listZip(file: string): Promise<ListedEntry[]> {
  const zip = await openZip(file);
  const entries: ListedEntry[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const type = zipType(entry);
      const linkTarget =
        type === 'symlink' ? (await readAll(await zip.openReadStreamPromise(entry))).toString('utf8') : undefined;
      entries.push({ name: zipName(entry).replace(/\\/g, '/'), type, linkTarget });
    }
  } finally {
    zip.close();
  }
  return entries;
}

// ---- helpers --------------------------------------------------------------------------------------

export function isInside(candidate: string, dir: string): boolean {
  const relative = path.relative(dir, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}
