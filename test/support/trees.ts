import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
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

/** Files (with their content's hash), folders and links of a tree, sorted: equal digests mean equal trees. */
export function treeDigest(dir: string, skip: (relative: string) => boolean = () => false): string {
  const hash = createHash('sha256');
  let count = 0;
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(dir, relative)).sort()) {
      const rel = relative ? `${relative}/${name}` : name;
      if (skip(rel)) continue;
      const full = path.join(dir, rel);
      const stats = lstatSync(full);
      count++;
      if (stats.isSymbolicLink()) hash.update(`L ${rel} ${readlinkSync(full)}\n`);
      else if (stats.isDirectory()) {
        hash.update(`D ${rel}\n`);
        walk(rel);
      } else hash.update(`F ${rel} ${createHash('sha256').update(readFileSync(full)).digest('hex')}\n`);
    }
  };
  walk('');
  return `${count}:${hash.digest('hex')}`;
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
