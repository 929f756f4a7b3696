import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { reportProgress, throwIfCancelled } from './attempt';
import { argvBatches, copyIntoArgv, toolPackage } from './commands/files';
import { describeFailure, runCommand } from './shell';
import { failure } from '../common/failures';

/*
 * Long file work done asynchronously, so the attempt's heartbeats keep flowing, and checked for cancellation
 * as it goes, so a cancelled or timed-out attempt stops before the next one acts. The bulk of it (copying
 * file contents, extracting archives) is done by the system's own tools, run inside the attempt's
 * containment: a file at a time from Node costs several times what `cp -a` or `tar -x` take.
 */

export interface CopyTreeOptions {
  /** Leave out an entry (and, for a folder, everything under it); `relative` uses `/`. */
  skip?: (relative: string, isDir: boolean) => boolean;
  /** Replace what is at the destination (files and links); default true. */
  overwrite?: boolean;
}

/**
 * Copies a tree: folders, files (mode and times kept) and symbolic links as they are, dangling or not
 * (never followed). Node walks the folders (applying `skip` and `overwrite`, creating the folders); `cp`
 * copies the files and links, a batch of names per run.
 */
export async function copyTree(from: string, to: string, options: CopyTreeOptions = {}): Promise<number> {
  const source = path.resolve(from);
  const destination = path.resolve(to);
  let entries = 0;
  let copied = 0;
  const leaves: string[] = [];
  const progress = () => ({ copying: source, into: destination, entries, copied });
  reportProgress(progress);
  const walk = async (relative: string): Promise<void> => {
    const folder = path.join(destination, relative);
    await mkdir(folder, { recursive: true, mode: (await stat(path.join(source, relative))).mode & 0o7777 });
    const existing = new Map((await readdir(folder, { withFileTypes: true })).map((d) => [d.name, d]));
    const children = (await readdir(path.join(source, relative), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of children) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (options.skip?.(rel, entry.isDirectory())) continue;
      if (++entries % 500 === 0) throwIfCancelled();
      if (entry.isDirectory()) {
        await walk(rel);
        continue;
      }
      const there = existing.get(entry.name);
      if (there && options.overwrite === false) continue;
      if (!entry.isFile() && !entry.isSymbolicLink()) continue; // sockets, fifos and devices are not content
      // cp replaces a file or a link; a folder where a file or link goes is removed here.
      if (there?.isDirectory()) await rm(path.join(folder, entry.name), { recursive: true, force: true });
      leaves.push(rel);
    }
  };
  await walk('');
  for (const batch of argvBatches(leaves)) {
    await runTool(copyIntoArgv(destination, batch), `copying ${source} into ${destination}`, {
      cwd: source,
      details: progress,
    });
    copied += batch.length;
  }
  return entries;
}

/**
 * Runs a system tool as part of the attempt (contained, heartbeating, stopped when the attempt is cancelled);
 * throws when it fails.
 */
export async function runTool(
  argv: string[],
  label: string,
  options: {
    cwd?: string;
    details?: () => Record<string, unknown>;
    abort?: AbortSignal;
    /** Text given on stdin (a list of names). */
    input?: string;
    /** Exit statuses besides 0 that mean the tool did its work. */
    alsoSucceeds?: readonly number[];
  } = {},
): Promise<void> {
  const result = await runCommand({
    argv,
    cwd: options.cwd,
    input: options.input,
    heartbeatDetails: options.details,
    abort: options.abort,
  });
  throwIfCancelled();
  // 127: the shell that execs the tool did not find it; no retry installs it
  if (result.exitCode === 127)
    throw failure(
      'MissingTool',
      `${label}: ${argv[0]} is not installed on this host; install it (Debian or Ubuntu: apt-get install ${toolPackage(argv[0])}) and run again`,
    );
  if (result.exitCode !== 0 && !options.alsoSucceeds?.includes(result.exitCode ?? -1))
    throw new Error(describeFailure(result, label));
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
