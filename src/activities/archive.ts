import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { lstat, mkdir, readdir, readlink, rename, rm } from 'node:fs/promises';
import { fsyncFile } from './atomic-write';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { Minimatch } from 'minimatch';
import * as tar from 'tar';
import * as yauzl from 'yauzl';
import { ZipFile } from 'yazl';
import { throwIfCancelled } from './attempt';
import { untarArgv, unzipArgv } from './commands/files';
import { removePartials, runTool } from './files';

/*
 * Archives of folders for backups and in-place deploy snapshots. Creation writes to a temporary name and
 * renames only when complete; extraction refuses any entry that would land outside its target folder.
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
  /** Called with the bytes written so far (for heartbeats). */
  onProgress?: (bytes: number) => void;
}

export interface ArchiveResult {
  bytes: number;
  sha256: string;
  entries: number;
  /** Symbolic links left out because they point outside the archived folders (extraction would refuse them). */
  skipped: string[];
}

interface SourceEntry {
  absolute: string;
  /** Name inside the archive (POSIX separators, relative). */
  name: string;
  kind: 'file' | 'dir' | 'symlink';
  stats: Stats;
  linkTarget?: string;
}

export async function createArchive(options: CreateArchiveOptions): Promise<ArchiveResult> {
  if (options.sources.length === 0) throw new Error('createArchive: expected at least one source folder or file');
  const sources = options.sources.map((s) => path.resolve(s));
  const baseDir = path.resolve(options.baseDir ?? commonParent(sources));
  const { entries, skipped } = await collectEntries(sources, baseDir, options.exclude ?? []);

  const outFile = path.resolve(options.outFile);
  await mkdir(path.dirname(outFile), { recursive: true });
  const temporary = `${outFile}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      try {
        options.onProgress?.(bytes);
        callback(null, chunk);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  try {
    const stream = options.format === 'zip' ? zipStream(entries) : tarStream(entries, baseDir);
    await pipeline(stream, meter, createWriteStream(temporary, { mode: 0o600 }));
    await fsyncFile(temporary);
    await rename(temporary, outFile);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { bytes, sha256: hash.digest('hex'), entries: entries.length, skipped };
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

  const add = async (absolute: string, fromSource: string) => {
    if (seen.has(absolute)) return;
    if (seen.size % 500 === 0) throwIfCancelled();
    const stats = await lstat(absolute);
    const isDir = stats.isDirectory();
    if (fromSource && excluded(fromSource, isDir)) return;
    seen.add(absolute);
    const name = path.relative(baseDir, absolute).split(path.sep).join('/');
    if (stats.isSymbolicLink()) {
      const target = await readlink(absolute);
      const resolved = path.resolve(path.dirname(absolute), target);
      if (!sources.some((s) => isInside(resolved, s))) {
        skipped.push(absolute);
        return;
      }
      // An absolute link into the tree would point outside wherever the archive is extracted.
      const linkTarget = path.isAbsolute(target) ? path.relative(path.dirname(absolute), resolved) || '.' : target;
      entries.push({ absolute, name, kind: 'symlink', stats, linkTarget });
      return;
    }
    if (isDir) {
      if (name) entries.push({ absolute, name, kind: 'dir', stats });
      const children = (await readdir(absolute)).sort();
      for (const child of children) await add(path.join(absolute, child), joinPosix(fromSource, child));
      return;
    }
    if (stats.isFile()) entries.push({ absolute, name, kind: 'file', stats });
    // sockets, fifos and devices are not content worth keeping
  };

  for (const source of sources) {
    if (!isInside(source, baseDir)) throw new Error(`createArchive: source ${source} is not inside baseDir ${baseDir}`);
    if (!(await lstat(source).catch(() => undefined))) throw new Error(`createArchive: ${source} does not exist`);
    await add(source, '');
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

function tarStream(entries: SourceEntry[], baseDir: string): Readable {
  // The walk above already applied excludes and link rules: tar packs exactly these paths, no recursion.
  const names = entries.map((e) => e.name);
  const linkTargets = new Map(entries.filter((e) => e.kind === 'symlink').map((e) => [e.name, e.linkTarget]));
  return tar.create(
    {
      gzip: true,
      cwd: baseDir,
      noDirRecurse: true,
      follow: false,
      // called just before the header is written: the link target as the walk rewrote it (relative)
      onWriteEntry: (entry) => {
        if (entry.type === 'SymbolicLink' && linkTargets.has(entry.path)) entry.linkpath = linkTargets.get(entry.path);
      },
    },
    names,
  ) as unknown as Readable;
}

function zipStream(entries: SourceEntry[]): Readable {
  const zip = new ZipFile();
  for (const entry of entries) {
    if (entry.kind === 'dir') zip.addEmptyDirectory(entry.name, { mtime: entry.stats.mtime, mode: entry.stats.mode });
    else if (entry.kind === 'symlink')
      zip.addBuffer(Buffer.from(entry.linkTarget ?? ''), entry.name, {
        mtime: entry.stats.mtime,
        mode: entry.stats.mode,
        compress: false,
      });
    else zip.addFile(entry.absolute, entry.name, { mtime: entry.stats.mtime, mode: entry.stats.mode });
  }
  zip.end();
  return zip.outputStream as Readable;
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

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

export function isInside(candidate: string, dir: string): boolean {
  const relative = path.relative(dir, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}
