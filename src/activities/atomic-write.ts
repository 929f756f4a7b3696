import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a small file (a step marker, a lease or service record, release info, a catalogue) so that a reader,
 * or a crash at any moment, sees the old content or the new and never a part: the text goes to a fresh
 * temporary name beside it (created exclusively, never through a symlink planted there), is flushed to disk,
 * renamed over the file (a symlink at `file` is replaced, never followed), and the folder is flushed so the
 * rename lasts. `durable: false` skips both flushes, for a record that only has to outlive the process that
 * wrote it (the kernel keeps it), not the machine: it is still replaced whole. Every call leaves the worker's
 * event loop free: a flush waits on the disk, for milliseconds or, on a busy one, far longer.
 */
export async function writeFileAtomic(
  file: string,
  text: string,
  mode = 0o644,
  { durable = true } = {},
): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  // `.tmp-` marks a leftover for the kill matrix; the `.tmp` ending keeps it out of state folder listings.
  const temporary = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
    try {
      await handle.writeFile(text);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  if (durable) await fsyncFile(dir);
}

/**
 * Flushes a file written by a stream (a dump, an archive) to disk, before it is renamed into place; or a
 * folder, so a rename in it lasts.
 */
export async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
