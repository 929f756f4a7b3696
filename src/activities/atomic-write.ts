import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';

/**
 * Writes a small file (a step marker, a lease or service record, release info, a catalogue) so that a reader,
 * or a crash at any moment, sees the old content or the new and never a part: the text goes to a fresh
 * temporary name beside it (created exclusively, never through a symlink planted there), is flushed to disk,
 * renamed over the file (a symlink at `file` is replaced, never followed), and the folder is flushed so the
 * rename lasts. `durable: false` skips both flushes, for a record that only has to outlive the process that
 * wrote it (the kernel keeps it), not the machine: it is still replaced whole. The flushes, which wait on the
 * disk for milliseconds or, on a busy one, far longer, run off the worker's event loop; the rest is done in
 * the kernel's cache at once (and, with `durable: false`, all of it before the first await).
 */
export async function writeFileAtomic(
  file: string,
  text: string,
  mode = 0o644,
  { durable = true } = {},
): Promise<void> {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  // `.tmp-` marks a leftover for the kill matrix; the `.tmp` ending keeps it out of state folder listings.
  const temporary = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
    try {
      writeSync(fd, text);
      if (durable) await flush(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  if (!durable) return;
  const folder = openSync(dir, 'r');
  try {
    await flush(folder);
  } finally {
    closeSync(folder);
  }
}

const flush = promisify(fsync);

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
