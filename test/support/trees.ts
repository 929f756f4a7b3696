import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/** Writes `files` small files into `dir`, 100 to a folder, as a real app tree of that size would spread them. */
export function writeTree(dir: string, files: number, tag = ''): void {
  for (let i = 0; i < files; i++) {
    const folder = path.join(dir, 'lib', `pkg${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `m${i % 100}.py`), `# module ${i}${tag}\n`);
  }
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Visits every entry of a tree, sorted by name, folders before what they hold, without following links; `skip`
 * leaves out a relative path and all below it.
 */
function walkTree(dir: string, skip: (relative: string) => boolean, visit: (relative: string, stats: Stats) => void) {
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(dir, relative)).sort()) {
      const entry = relative ? `${relative}/${name}` : name;
      if (skip(entry)) continue;
      const stats = lstatSync(path.join(dir, entry));
      visit(entry, stats);
      if (stats.isDirectory()) walk(entry);
    }
  };
  walk('');
}

/** Files (with their content's hash), folders and links of a tree, sorted: equal digests mean equal trees. */
export function treeDigest(dir: string, skip: (relative: string) => boolean = () => false): string {
  const hash = createHash('sha256');
  let count = 0;
  walkTree(dir, skip, (entry, stats) => {
    count++;
    const full = path.join(dir, entry);
    if (stats.isSymbolicLink()) hash.update(`L ${entry} ${readlinkSync(full)}\n`);
    else if (stats.isDirectory()) hash.update(`D ${entry}\n`);
    else hash.update(`F ${entry} ${sha256(readFileSync(full))}\n`);
  });
  return `${count}:${hash.digest('hex')}`;
}

/**
 * Every entry of a folder tree — path, kind, permission bits, symlink target, file content — as one line
 * each, sorted: two trees with the same listing hold exactly the same files. `skip` leaves out paths
 * (relative, exact) whose content is expected to differ.
 */
export function treeListing(dir: string, skip: string[] = []): string[] {
  const lines: string[] = [];
  walkTree(
    dir,
    (entry) => skip.includes(entry),
    (entry, stats) => {
      const full = path.join(dir, entry);
      const mode = (stats.mode & 0o777).toString(8);
      if (stats.isSymbolicLink()) lines.push(`${entry} link ${readlinkSync(full)}`);
      else if (stats.isDirectory()) lines.push(`${entry}/ dir ${mode}`);
      else lines.push(`${entry} file ${mode} ${sha256(readFileSync(full))}`);
    },
  );
  return lines;
}

/** Number of regular files under `dir`. */
export function countFiles(dir: string): number {
  let count = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) count++;
  return count;
}

/**
 * Copies a tree as it is (modes, times, links) into `to` with `cp -a`, in a child process: at tens of
 * thousands of files the test's own event loop (its webhook receivers, its workers' output) stays free.
 */
export async function cloneTree(from: string, to: string): Promise<void> {
  mkdirSync(path.dirname(to), { recursive: true });
  await promisify(execFile)('cp', ['-a', `${from}/.`, to]);
}
