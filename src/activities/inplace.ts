import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../manifest/types';
import { createArchive, excluder, extractArchive } from './archive';
import { sha256File } from './checksum';
import { attemptNumber, reportProgress, throwIfCancelled, withClaim } from './attempt';
import type { ActivityConfig } from './config';
import { appPaths, compareRuns } from '../common/names';
import { failure } from '../common/failures';
import { writeFileAtomic } from './atomic-write';
import { copyTree, removePartials, removeStaged } from './files';
import { scanDeployLog, type DeployLogLine } from './deploy-log';
import { listDatabaseSnapshots } from './snapshots';

/*
 * The Almareia guide's in-place strategy: zip the production folder, copy the new files over it, and on
 * failure keep the failed tree as <root>_failed_<id> and put the folder back. The zip is the guide's backup
 * (code only: snapshot.exclude leaves out the venv, uploads and logs); the automatic rollback puts back an
 * exact copy of the whole folder taken beside it, so nothing the zip leaves out is lost or rewound.
 */

export interface ArchiveInfo {
  /** The zip, or the rollback copy when snapshot.files is false. */
  file: string;
  bytes: number;
  sha256: string;
}

/** What a deploy kept of the folder it replaced, in <state>/deploys/<id>/snapshot.json. */
export interface InPlaceSnapshot {
  deployId: string;
  /** The deploy whose folder it holds: the one live when it was taken (none before the first good deploy). */
  of?: string;
  ref?: string;
  /** The zip (snapshot.files), code only. */
  archive?: string;
  /** The exact copy of the whole folder, for the automatic rollback. */
  copy: string;
  takenAt: string;
}

/** Runbook's former deploy log inside the live folder: never archived, never rewound by a restore. */
const DEPLOY_LOG = 'deploy_log.jsonl';

function deployState(manifest: Manifest, deployId: string): string {
  return path.join(appPaths(manifest).stateDir, 'deploys', deployId);
}

function snapshotFile(manifest: Manifest, deployId: string): string {
  return path.join(deployState(manifest, deployId), 'snapshot.json');
}

export function rollbackCopyFor(manifest: Manifest, deployId: string): string {
  return path.join(deployState(manifest, deployId), 'before');
}

export function archiveFileFor(manifest: Manifest, deployId: string): string {
  return path.join(appPaths(manifest).archiveDir, `${manifest.app}_backup_${deployId}.zip`);
}

export function failedTreeFor(manifest: Manifest, deployId: string): string {
  return `${manifest.root.replace(/\/+$/, '')}_failed_${deployId}`;
}

export function replacedTreeFor(manifest: Manifest, rollbackId: string): string {
  return `${manifest.root.replace(/\/+$/, '')}_replaced_${rollbackId}`;
}

/**
 * Whatever changes or reads the live folder as a whole holds this claim: an archive, a copy and a restore of
 * one app never run at once on a host, even when an undo is scheduled while a timed-out attempt still runs.
 */
function withLiveFolder<T>(manifest: Manifest, fn: () => Promise<T>): Promise<T> {
  return withClaim(path.join(appPaths(manifest).stateDir, 'locks', 'live-folder.lock'), `${manifest.root}`, fn);
}

async function readSnapshot(manifest: Manifest, deployId: string): Promise<InPlaceSnapshot | undefined> {
  try {
    return JSON.parse(await readFile(snapshotFile(manifest, deployId), 'utf8')) as InPlaceSnapshot;
  } catch {
    return undefined;
  }
}

export async function listSnapshots(manifest: Manifest): Promise<InPlaceSnapshot[]> {
  const dir = path.join(appPaths(manifest).stateDir, 'deploys');
  const ids = (await readdir(dir).catch(() => [] as string[])).sort();
  const snapshots = await Promise.all(ids.map((id) => readSnapshot(manifest, id)));
  return snapshots.filter((s): s is InPlaceSnapshot => s !== undefined);
}

/** The deploy whose code is live, from the deploy log: the last succeeded deploy or rollback. */
export async function liveDeploy(manifest: Manifest): Promise<{ id: string; ref?: string } | undefined> {
  let live: { id: string; ref?: string } | undefined;
  await scanDeployLog(
    appPaths(manifest).deployLog,
    (line) => {
      if (!isLiveLine(line)) return false;
      live = { id: line.release, ref: line.ref };
      return true;
    },
    { mentioning: RELEASE_FIELD },
  );
  return live;
}

/**
 * Only deploy and rollback lines name a release: the many lines of scheduled jobs are passed over unread. The
 * key alone, however a line is spaced; a line that merely mentions it is parsed and judged as any other.
 */
const RELEASE_FIELD = '"release"';

function isLiveLine(line: DeployLogLine): line is DeployLogLine & { release: string } {
  return line.outcome === 'succeeded' && !!line.release && (line.kind === 'deploy' || line.kind === 'rollback');
}

export interface InPlaceDeploys {
  live?: string;
  /** Earlier good deploys whose folder is kept, newest first, with their refs. */
  restorable: Array<{ id: string; ref?: string }>;
}

/** The deploys `runbook rollback` can go back to: good ones, not live, whose folder a later deploy kept. */
export async function restorableDeploys(manifest: Manifest): Promise<InPlaceDeploys> {
  const kept = new Set((await listSnapshots(manifest)).flatMap((s) => (s.of ? [s.of] : [])));
  // Read from the end only as far as the live deploy's own line and the line of every deploy a folder keeps.
  let live: string | undefined;
  const newestFirst: Array<[string, string | undefined]> = [];
  const unseen = new Set(kept);
  await scanDeployLog(
    appPaths(manifest).deployLog,
    (line) => {
      if (live === undefined && isLiveLine(line)) {
        live = line.release;
        unseen.add(live);
      }
      if (line.kind !== 'deploy' || line.outcome !== 'succeeded' || !line.release) return false;
      newestFirst.push([line.release, line.ref]);
      unseen.delete(line.release);
      return live !== undefined && unseen.size === 0;
    },
    { mentioning: RELEASE_FIELD },
  );
  const good = new Map<string, string | undefined>();
  for (const [id, ref] of newestFirst.reverse()) if (!good.has(id)) good.set(id, ref);
  // The log is in the order deploys ran; ids made within one second do not sort by time.
  const ran = [...good];
  const liveAt = live === undefined ? ran.length : ran.findIndex(([id]) => id === live);
  const restorable = ran
    .slice(0, liveAt < 0 ? ran.length : liveAt)
    .filter(([id]) => kept.has(id))
    .map(([id, ref]) => ({ id, ref }))
    .reverse();
  return { live, restorable };
}

/** Calls `visit` for each entry `patterns` match under `dir` (not descending into a match). */
async function eachMatching(
  dir: string,
  patterns: readonly string[],
  visit: (relative: string) => Promise<void>,
): Promise<void> {
  const excluded = excluder(patterns);
  const walk = async (relative: string): Promise<void> => {
    for (const name of await readdir(path.join(dir, relative))) {
      const entry = relative ? `${relative}/${name}` : name;
      const isDir = (await lstat(path.join(dir, entry))).isDirectory();
      if (excluded(entry, isDir)) await visit(entry);
      else if (isDir) await walk(entry);
    }
  };
  await walk('');
}

/** Moves what `patterns` match in `from` to the same place in `to`, replacing what is there. */
function carryOver(from: string, to: string, patterns: readonly string[]): Promise<void> {
  return eachMatching(from, patterns, async (entry) => {
    const target = path.join(to, entry);
    await rm(target, { recursive: true, force: true });
    await mkdir(path.dirname(target), { recursive: true });
    await rename(path.join(from, entry), target);
  });
}

/** Copies a whole tree to `to`, staged under this attempt's own name and renamed when complete. */
async function copyWhole(from: string, to: string): Promise<void> {
  const prefix = `${path.basename(to)}.partial-`;
  await mkdir(path.dirname(to), { recursive: true });
  await removeStaged(path.dirname(to), prefix);
  const staging = `${to}.partial-${attemptNumber()}`;
  await copyTree(from, staging);
  throwIfCancelled();
  await rename(staging, to);
}

async function markDone(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, new Date().toISOString());
}

export function inPlaceActivities(_config: ActivityConfig) {
  return {
    /**
     * Keeps the live folder before an in-place deploy: an exact copy of all of it beside it (for the automatic
     * rollback), and the zip of its code (snapshot.files, the guide's backup). Each appears under its final
     * name only when complete, so a retry reuses it.
     */
    async archiveLiveFolder(request: { manifest: Manifest; deployId: string }): Promise<ArchiveInfo> {
      const { manifest, deployId } = request;
      return withLiveFolder(manifest, async () => {
        await mkdir(manifest.root, { recursive: true });
        const copy = rollbackCopyFor(manifest, deployId);
        if (!existsSync(copy)) await copyWhole(manifest.root, copy);
        let archive: ArchiveInfo | undefined;
        if (manifest.snapshot.files !== false) {
          const file = archiveFileFor(manifest, deployId);
          if (existsSync(file)) archive = { file, bytes: (await stat(file)).size, sha256: await sha256File(file) };
          else {
            await mkdir(path.dirname(file), { recursive: true });
            // The claim means no earlier attempt still writes: what one left half-written goes.
            await removePartials(file);
            const result = await createArchive({
              format: 'zip',
              sources: [manifest.root],
              baseDir: manifest.root,
              outFile: file,
              exclude: [...manifest.snapshot.exclude, DEPLOY_LOG],
            });
            archive = { file, bytes: result.bytes, sha256: result.sha256 };
          }
        }
        const live = await liveDeploy(manifest);
        const snapshot: InPlaceSnapshot = {
          deployId,
          of: live?.id,
          ref: live?.ref,
          archive: archive?.file,
          copy,
          takenAt: new Date().toISOString(),
        };
        const file = snapshotFile(manifest, deployId);
        await writeFileAtomic(file, `${JSON.stringify(snapshot, null, 2)}\n`);
        return archive ?? { file: copy, bytes: 0, sha256: '' };
      });
    },

    /** Copies the staging folder's files over the live folder (the guide's "copy new files"). */
    async copyIntoPlace(request: { manifest: Manifest; deployId: string }): Promise<string> {
      const { manifest } = request;
      const source = manifest.source;
      if (source.type !== 'copy') throw failure('BadManifest', 'in-place deploys need source.type copy');
      if (!existsSync(source.from))
        throw failure(
          'MissingSource',
          `staging folder ${source.from} does not exist; put the new version there (source.from)`,
        );
      const excluded = excluder(source.exclude);
      const files = await withLiveFolder(manifest, () => copyTree(source.from, manifest.root, { skip: excluded }));
      return `copied ${source.from} into ${manifest.root} (${files} entries)`;
    },

    /**
     * Puts the folder back as it was before the deploy: the failed tree is kept aside as <root>_failed_<id>
     * for analysis and the exact copy taken before the deploy is renamed into place (a deploy from before
     * those copies existed extracts its zip instead). Each stage is checked on retry, so a crash halfway
     * resumes instead of losing the failed tree or the copy.
     */
    async restoreLiveFolder(request: { manifest: Manifest; deployId: string; archive: string }): Promise<string> {
      const { manifest, deployId } = request;
      const done = path.join(deployState(manifest, deployId), 'restored');
      const failedTree = failedTreeFor(manifest, deployId);
      const root = manifest.root.replace(/\/+$/, '');
      const setAside = async () => {
        if (!existsSync(root)) return;
        if (!existsSync(failedTree)) await rename(root, failedTree);
        else await rm(root, { recursive: true, force: true });
      };
      return withLiveFolder(manifest, async () => {
        if (existsSync(done)) return `${manifest.root} already restored`;
        const copy = rollbackCopyFor(manifest, deployId);
        if (await readSnapshot(manifest, deployId)) {
          // no copy left: an earlier attempt already moved it into place
          if (existsSync(copy)) {
            await setAside();
            await rename(copy, root);
          }
          await markDone(done);
          return `restored ${manifest.root} as it was before the deploy; failed tree kept as ${failedTree}`;
        }
        if (!existsSync(request.archive))
          throw failure(
            'MissingArchive',
            `archive ${request.archive} is missing; restore ${manifest.root} by hand from another backup`,
          );
        const stagingPrefix = `${path.basename(root)}.restoring-${deployId}-`;
        // Each attempt extracts under its own name; the claim means no earlier one is still writing.
        const staging = `${root}.restoring-${deployId}-${attemptNumber()}`;
        await removeStaged(path.dirname(root), stagingPrefix);
        reportProgress({ extracting: request.archive, into: staging });
        await extractArchive({ file: request.archive, format: 'zip', targetDir: staging });
        throwIfCancelled();
        // The failed tree is moved aside only once the archive is out, so the live folder is never missing
        // for longer than two renames.
        await setAside();
        await rename(staging, root);
        await markDone(done);
        return `restored ${manifest.root} from ${request.archive}; failed tree kept as ${failedTree}`;
      });
    },

    /** The in-place deploys `runbook rollback` can go back to (good, not live, their folder kept). */
    async describeInPlaceDeploys(request: { manifest: Manifest }): Promise<InPlaceDeploys> {
      return restorableDeploys(request.manifest);
    },

    /**
     * `runbook rollback` of an in-place app: the code of an earlier good deploy (its zip, or the copy a later
     * deploy kept) with what the snapshot leaves out — venv, uploads, logs — carried over from the live
     * folder, so data written since is kept. The replaced folder stays as <root>_replaced_<id>. Stages, each
     * found again by a retry: the code prepared as <root>.restoring-<id>; the live folder moved aside; the
     * data carried over; the prepared folder renamed into place.
     */
    async restoreEarlierDeploy(request: { manifest: Manifest; rollbackId: string; target: string }): Promise<string> {
      const { manifest, rollbackId, target } = request;
      const done = path.join(appPaths(manifest).stateDir, 'rollbacks', rollbackId, 'restored');
      const root = manifest.root.replace(/\/+$/, '');
      const replaced = replacedTreeFor(manifest, rollbackId);
      const ready = `${root}.restoring-${rollbackId}`;
      const keep = [...manifest.snapshot.exclude, DEPLOY_LOG];
      return withLiveFolder(manifest, async () => {
        if (existsSync(done)) return `${manifest.root} already holds deploy ${target}`;
        const snapshot = (await listSnapshots(manifest)).filter((s) => s.of === target).at(-1);
        if (!snapshot)
          throw failure(
            'NothingToRollBackTo',
            `no copy of deploy ${target} is kept any more (releases.keep); deploy that version again instead`,
          );
        if (!existsSync(ready) && !existsSync(replaced)) {
          const stagingPrefix = `${path.basename(ready)}-`;
          const staging = `${ready}-${attemptNumber()}`;
          await removeStaged(path.dirname(root), stagingPrefix);
          reportProgress({ preparing: staging, deploy: target });
          if (snapshot.archive && existsSync(snapshot.archive))
            await extractArchive({ file: snapshot.archive, format: 'zip', targetDir: staging });
          else if (existsSync(snapshot.copy)) await copyTree(snapshot.copy, staging);
          else
            throw failure(
              'NothingToRollBackTo',
              `the zip and the copy of deploy ${target} are gone; deploy that version again instead`,
            );
          throwIfCancelled();
          await eachMatching(staging, keep, (entry) => rm(path.join(staging, entry), { recursive: true, force: true }));
          await rename(staging, ready);
        }
        if (existsSync(ready)) {
          if (existsSync(root) && !existsSync(replaced)) await rename(root, replaced);
          if (existsSync(replaced)) await carryOver(replaced, ready, keep);
          await rename(ready, root);
        }
        await markDone(done);
        return `${manifest.root} holds deploy ${target} again (${snapshot.ref ?? 'its ref'}); the replaced folder is ${replaced}`;
      });
    },

    /**
     * Keeps what in-place deploys leave behind — exact copies, zips, failed and replaced trees, database
     * snapshots — for the newest `releases.keep` deploys and rollbacks, and never for `protect`; deletes the rest.
     */
    async pruneInPlace(request: { manifest: Manifest; protect?: string[] }): Promise<string[]> {
      const { manifest } = request;
      const stateDir = appPaths(manifest).stateDir;
      const base = path.basename(manifest.root.replace(/\/+$/, ''));
      const parent = path.dirname(manifest.root.replace(/\/+$/, ''));
      const leftovers = new Map<string, string[]>();
      const note = (id: string, target: string) => leftovers.set(id, [...(leftovers.get(id) ?? []), target]);
      // Runs within one second are told apart by when their state folder last changed.
      const changedAt = new Map<string, number>();
      for (const kind of ['deploys', 'rollbacks']) {
        const dir = path.join(stateDir, kind);
        for (const id of await readdir(dir).catch(() => [] as string[])) {
          note(id, path.join(dir, id));
          const changed = (await stat(path.join(dir, id)).catch(() => undefined))?.mtimeMs ?? 0;
          changedAt.set(id, Math.max(changedAt.get(id) ?? 0, changed));
        }
      }
      for (const snapshot of await listSnapshots(manifest))
        if (snapshot.archive) note(snapshot.deployId, snapshot.archive);
      for (const snapshot of await listDatabaseSnapshots(manifest)) note(snapshot.deployId, snapshot.file);
      const leftBeside = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(failed|replaced)_(.+)$`);
      for (const name of await readdir(parent).catch(() => [] as string[])) {
        const match = leftBeside.exec(name);
        if (match) note(match[2], path.join(parent, name));
      }
      const madeAt = (id: string) => ({ id, madeAt: changedAt.get(id) ?? 0 });
      const ids = [...leftovers.keys()].sort((a, b) => compareRuns(madeAt(a), madeAt(b)));
      const kept = new Set([...ids.slice(-manifest.releases.keep), ...(request.protect ?? [])]);
      const removed: string[] = [];
      for (const id of ids.filter((i) => !kept.has(i))) {
        reportProgress({ removing: id });
        for (const target of leftovers.get(id) ?? []) await rm(target, { recursive: true, force: true });
        removed.push(id);
      }
      return removed;
    },
  };
}
