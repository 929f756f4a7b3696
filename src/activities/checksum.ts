import { createHash } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from './archive';

/**
 * The sha256 of a file, or of a folder (a directory-format dump): the hash of its sorted file names
 * with each file's own hash, so any changed, added or removed file changes it.
 */
export async function sha256Path(target: string): Promise<string> {
  const stats = await lstat(target);
  if (!stats.isDirectory()) return sha256File(target);
  const hash = createHash('sha256');
  for (const name of (await readdir(target)).sort())
    hash.update(`${name}\0${await sha256Path(path.join(target, name))}\n`);
  return hash.digest('hex');
}

/** Bytes of a file, or of every file in a folder; 0 when it does not exist (yet). */
export function sizeOfSync(target: string): number {
  try {
    const stats = lstatSync(target);
    if (!stats.isDirectory()) return stats.size;
    return readdirSync(target).reduce((sum, name) => sum + sizeOfSync(path.join(target, name)), 0);
  } catch {
    return 0;
  }
}
