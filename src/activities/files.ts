import { copyFile, lstat, mkdir, readdir, readlink, rename, rm, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { reportProgress, throwIfCancelled } from './attempt';

/*
 * Long file work done asynchronously, so the attempt's heartbeats keep flowing, and checked for cancellation
 * as it goes, so a cancelled or timed-out attempt stops before the next one acts.
 */

export interface CopyTreeOptions {
  /** Leave out an entry (and, for a folder, everything under it); `relative` uses `/`. */
  skip?: (relative: string, isDir: boolean) => boolean;
  /** Replace what is at the destination (files and links); default true. */
  overwrite?: boolean;
}

/**
 * Copies a tree: folders, files (mode and times kept) and symbolic links as they are, dangling or not
 * (looked at with lstat, never followed).
 */
export async function copyTree(from: string, to: string, options: CopyTreeOptions = {}): Promise<number> {
  let copied = 0;
  reportProgress(() => ({ copying: from, into: to, entries: copied }));
  const walk = async (relative: string): Promise<void> => {
    const source = path.join(from, relative);
    const destination = path.join(to, relative);
    const stats = await lstat(source);
    await mkdir(destination, { recursive: true, mode: stats.mode & 0o7777 });
    for (const name of (await readdir(source)).sort()) {
      const rel = relative ? `${relative}/${name}` : name;
      const entry = await lstat(path.join(source, name));
      if (options.skip?.(rel, entry.isDirectory())) continue;
      if (++copied % 500 === 0) throwIfCancelled();
      const target = path.join(destination, name);
      if (entry.isDirectory()) {
        await walk(rel);
        continue;
      }
      const existing = await lstat(target).catch(() => undefined);
      if (existing && options.overwrite === false) continue;
      if (existing && (existing.isDirectory() || existing.isSymbolicLink() || entry.isSymbolicLink()))
        await rm(target, { recursive: true, force: true });
      if (entry.isSymbolicLink()) await symlink(await readlink(path.join(source, name)), target);
      else if (entry.isFile()) {
        await copyFile(path.join(source, name), target);
        await utimes(target, entry.atime, entry.mtime);
      }
      // sockets, fifos and devices are not content to copy
    }
  };
  await walk('');
  return copied;
}

/** Rename, or copy and delete across file systems. */
export async function moveTree(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const staged = `${to}.moving`;
    await rm(staged, { recursive: true, force: true });
    await copyTree(from, staged);
    await rm(to, { recursive: true, force: true });
    await rename(staged, to);
    await rm(from, { recursive: true, force: true });
  }
}

/** Removes the folders beside `keep` whose names start with `prefix`: what earlier attempts staged. */
export async function removeStaged(dir: string, prefix: string, keep?: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix) && n !== keep);
  for (const name of names) await rm(path.join(dir, name), { recursive: true, force: true });
  return names;
}

/** Deletes what earlier attempts at writing `file` left behind (`<file>.partial-*`: a dump, an archive). */
export async function removePartials(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.partial-`;
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
  for (const name of names) await rm(path.join(dir, name), { recursive: true, force: true });
  return names;
}
