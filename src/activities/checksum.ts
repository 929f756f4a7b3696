import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

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

/** The sha256 of a file, read asynchronously (heartbeats keep flowing); `onBytes` follows the reading. */
export async function sha256File(file: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    onBytes?.(chunk.length);
  }
  return hash.digest('hex');
}
