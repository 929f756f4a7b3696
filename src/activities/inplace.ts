import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  cpSync,
} from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { Manifest } from '../manifest/types';
import { createArchive, excluder, extractArchive, sha256File } from './archive';
import { copyTreeArgv } from './commands/files';
import type { ActivityConfig } from './config';
import { appPaths } from './paths';
import { readDeployLog } from './records';
import { describeFailure, runCommand } from './shell';

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

/** Runbook's own file in the live folder: never archived, never rewound by a restore. */
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

function readSnapshot(manifest: Manifest, deployId: string): InPlaceSnapshot | undefined {
  try {
    return JSON.parse(readFileSync(snapshotFile(manifest, deployId), 'utf8')) as InPlaceSnapshot;
  } catch {
    return undefined;
  }
}

export function listSnapshots(manifest: Manifest): InPlaceSnapshot[] {
  const dir = path.join(appPaths(manifest).stateDir, 'deploys');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((id) => readSnapshot(manifest, id))
    .filter((s): s is InPlaceSnapshot => s !== undefined);
}

/** The deploy whose code is live, from the deploy log: the last succeeded deploy or rollback. */
export function liveDeploy(manifest: Manifest): { id: string; ref?: string } | undefined {
  let live: { id: string; ref?: string } | undefined;
  for (const line of readDeployLog(manifest)) {
    if (line.outcome !== 'succeeded' || !line.release) continue;
    if (line.kind === 'deploy') live = { id: line.release, ref: line.ref };
    if (line.kind === 'rollback') live = { id: line.release, ref: line.ref };
  }
  return live;
}

export interface InPlaceDeploys {
  live?: string;
  /** Earlier good deploys whose folder is kept, newest first, with their refs. */
  restorable: Array<{ id: string; ref?: string }>;
}

/** The deploys `runbook rollback` can go back to: good ones, not live, whose folder a later deploy kept. */
export function restorableDeploys(manifest: Manifest): InPlaceDeploys {
  const live = liveDeploy(manifest)?.id;
  const good = new Map<string, string | undefined>();
  for (const line of readDeployLog(manifest))
    if (line.kind === 'deploy' && line.outcome === 'succeeded' && line.release) good.set(line.release, line.ref);
  const kept = new Set(listSnapshots(manifest).map((s) => s.of));
  const restorable = [...good]
    .filter(([id]) => id !== live && kept.has(id) && (!live || id < live))
    .map(([id, ref]) => ({ id, ref }))
    .reverse();
  return { live, restorable };
}

/** Moves what `patterns` match in `from` (not descending into a match) to the same place in `to`. */
function carryOver(from: string, to: string, patterns: readonly string[]): void {
  const excluded = excluder(patterns);
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(from, relative))) {
      const entry = relative ? `${relative}/${name}` : name;
      const source = path.join(from, entry);
      const isDir = lstatSync(source).isDirectory();
      if (excluded(entry, isDir)) {
        const target = path.join(to, entry);
        rmSync(target, { recursive: true, force: true });
        mkdirSync(path.dirname(target), { recursive: true });
        renameSync(source, target);
      } else if (isDir) walk(entry);
    }
  };
  walk('');
}

/** Removes what `patterns` match in `dir`. */
function removeMatching(dir: string, patterns: readonly string[]): void {
  const excluded = excluder(patterns);
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(dir, relative))) {
      const entry = relative ? `${relative}/${name}` : name;
      const isDir = lstatSync(path.join(dir, entry)).isDirectory();
      if (excluded(entry, isDir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
      else if (isDir) walk(entry);
    }
  };
  walk('');
}

async function copyTree(from: string, to: string): Promise<void> {
  const partial = `${to}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(path.dirname(to), { recursive: true });
  const argv = copyTreeArgv(from, partial);
  const result = await runCommand({ argv, timeoutMs: 3_600_000 });
  if (result.exitCode !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw ApplicationFailure.retryable(describeFailure(result, argv.slice(0, 3).join(' ')), 'CopyFailed');
  }
  renameSync(partial, to);
}

function markerOf(dir: string): { done: () => boolean; set: () => void } {
  const file = path.join(dir, 'restored');
  return {
    done: () => existsSync(file),
    set: () => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, new Date().toISOString());
    },
  };
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
      mkdirSync(manifest.root, { recursive: true });
      const copy = rollbackCopyFor(manifest, deployId);
      if (!existsSync(copy)) await copyTree(manifest.root, copy);
      heartbeat('copied');
      let archive: ArchiveInfo | undefined;
      if (manifest.snapshot.files !== false) {
        const file = archiveFileFor(manifest, deployId);
        if (existsSync(file)) archive = { file, bytes: statSync(file).size, sha256: await sha256File(file) };
        else {
          mkdirSync(path.dirname(file), { recursive: true });
          const result = await createArchive({
            format: 'zip',
            sources: [manifest.root],
            baseDir: manifest.root,
            outFile: file,
            exclude: [...manifest.snapshot.exclude, DEPLOY_LOG],
            onProgress: (bytes) => heartbeat({ bytes }),
          });
          archive = { file, bytes: result.bytes, sha256: result.sha256 };
        }
      }
      const live = liveDeploy(manifest);
      const snapshot: InPlaceSnapshot = {
        deployId,
        of: live?.id,
        ref: live?.ref,
        archive: archive?.file,
        copy,
        takenAt: new Date().toISOString(),
      };
      writeFileSync(snapshotFile(manifest, deployId), `${JSON.stringify(snapshot, null, 2)}\n`);
      return archive ?? { file: copy, bytes: 0, sha256: '' };
    },

    /** Copies the staging folder's files over the live folder (the guide's "copy new files"). */
    async copyIntoPlace(request: { manifest: Manifest; deployId: string }): Promise<string> {
      const { manifest } = request;
      const source = manifest.source;
      if (source.type !== 'copy')
        throw ApplicationFailure.nonRetryable('in-place deploys need source.type copy', 'BadManifest');
      if (!existsSync(source.from))
        throw ApplicationFailure.nonRetryable(
          `staging folder ${source.from} does not exist; put the new version there (source.from)`,
          'MissingSource',
        );
      const excluded = excluder(source.exclude);
      mkdirSync(manifest.root, { recursive: true });
      cpSync(source.from, manifest.root, {
        recursive: true,
        force: true,
        verbatimSymlinks: true,
        filter: (file) => {
          const relative = path.relative(source.from, file);
          return relative === '' || !excluded(relative.split(path.sep).join('/'), statSync(file).isDirectory());
        },
      });
      return `copied ${source.from} into ${manifest.root}`;
    },

    /**
     * Puts the folder back as it was before the deploy: the failed tree is kept aside as <root>_failed_<id>
     * for analysis and the exact copy taken before the deploy is renamed into place (a deploy from before
     * those copies existed extracts its zip instead). Each stage is checked on retry, so a crash halfway
     * resumes instead of losing the failed tree or the copy.
     */
    async restoreLiveFolder(request: { manifest: Manifest; deployId: string; archive: string }): Promise<string> {
      const { manifest, deployId } = request;
      const marker = markerOf(deployState(manifest, deployId));
      if (marker.done()) return `${manifest.root} already restored`;
      const failedTree = failedTreeFor(manifest, deployId);
      const copy = rollbackCopyFor(manifest, deployId);
      const snapshot = readSnapshot(manifest, deployId);
      if (snapshot && !existsSync(copy)) {
        // an earlier attempt already moved the copy into place
        marker.set();
        return `${manifest.root} restored; failed tree kept as ${failedTree}`;
      }
      if (!snapshot && !existsSync(request.archive))
        throw ApplicationFailure.nonRetryable(
          `archive ${request.archive} is missing; restore ${manifest.root} by hand from another backup`,
          'MissingArchive',
        );
      if (existsSync(manifest.root) && !existsSync(failedTree)) renameSync(manifest.root, failedTree);
      else if (existsSync(manifest.root)) rmSync(manifest.root, { recursive: true, force: true });
      if (snapshot) {
        renameSync(copy, manifest.root);
      } else {
        const staging = `${manifest.root.replace(/\/+$/, '')}.restoring-${deployId}`;
        rmSync(staging, { recursive: true, force: true });
        mkdirSync(staging, { recursive: true });
        heartbeat('extracting');
        await extractArchive({ file: request.archive, format: 'zip', targetDir: staging });
        renameSync(staging, manifest.root);
      }
      marker.set();
      return `restored ${manifest.root} as it was before the deploy; failed tree kept as ${failedTree}`;
    },

    /** The in-place deploys `runbook rollback` can go back to (good, not live, their folder kept). */
    async describeInPlaceDeploys(request: { manifest: Manifest }): Promise<InPlaceDeploys> {
      return restorableDeploys(request.manifest);
    },

    /**
     * `runbook rollback` of an in-place app: the code of an earlier good deploy (its zip, or the copy a later
     * deploy kept) with what the snapshot leaves out — venv, uploads, logs, the deploy log — carried over
     * from the live folder, so data written since is kept. The replaced folder stays as <root>_replaced_<id>.
     */
    async restoreEarlierDeploy(request: { manifest: Manifest; rollbackId: string; target: string }): Promise<string> {
      const { manifest, rollbackId, target } = request;
      const marker = markerOf(path.join(appPaths(manifest).stateDir, 'rollbacks', rollbackId));
      if (marker.done()) return `${manifest.root} already holds deploy ${target}`;
      const snapshot = listSnapshots(manifest)
        .filter((s) => s.of === target)
        .at(-1);
      if (!snapshot)
        throw ApplicationFailure.nonRetryable(
          `no copy of deploy ${target} is kept any more (releases.keep); deploy that version again instead`,
          'NothingToRollBackTo',
        );
      const keep = [...manifest.snapshot.exclude, DEPLOY_LOG];
      const replaced = replacedTreeFor(manifest, rollbackId);
      const staging = `${manifest.root.replace(/\/+$/, '')}.restoring-${rollbackId}`;
      if (!existsSync(replaced)) {
        rmSync(staging, { recursive: true, force: true });
        heartbeat('preparing');
        if (snapshot.archive && existsSync(snapshot.archive)) {
          mkdirSync(staging, { recursive: true });
          await extractArchive({ file: snapshot.archive, format: 'zip', targetDir: staging });
        } else if (existsSync(snapshot.copy)) {
          await copyTree(snapshot.copy, staging);
        } else
          throw ApplicationFailure.nonRetryable(
            `the zip and the copy of deploy ${target} are gone; deploy that version again instead`,
            'NothingToRollBackTo',
          );
        removeMatching(staging, keep);
        if (existsSync(manifest.root)) {
          carryOver(manifest.root, staging, keep);
          renameSync(manifest.root, replaced);
        }
      }
      if (existsSync(staging)) renameSync(staging, manifest.root);
      marker.set();
      return `${manifest.root} holds deploy ${target} again (${snapshot.ref ?? 'its ref'}); the replaced folder is ${replaced}`;
    },

    /**
     * Keeps what in-place deploys leave behind — exact copies, zips, failed and replaced trees — for the
     * newest `releases.keep` deploys and rollbacks, and never for `protect`; deletes the rest.
     */
    async pruneInPlace(request: { manifest: Manifest; protect?: string[] }): Promise<string[]> {
      const { manifest } = request;
      const stateDir = appPaths(manifest).stateDir;
      const base = path.basename(manifest.root.replace(/\/+$/, ''));
      const parent = path.dirname(manifest.root.replace(/\/+$/, ''));
      const leftovers = new Map<string, string[]>();
      const note = (id: string, target: string) => leftovers.set(id, [...(leftovers.get(id) ?? []), target]);
      for (const kind of ['deploys', 'rollbacks']) {
        const dir = path.join(stateDir, kind);
        if (existsSync(dir)) for (const id of readdirSync(dir)) note(id, path.join(dir, id));
      }
      for (const snapshot of listSnapshots(manifest)) if (snapshot.archive) note(snapshot.deployId, snapshot.archive);
      for (const name of existsSync(parent) ? readdirSync(parent) : []) {
        const match = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(failed|replaced)_(.+)$`).exec(name);
        if (match) note(match[2], path.join(parent, name));
      }
      const ids = [...leftovers.keys()].sort();
      const kept = new Set([...ids.slice(-manifest.releases.keep), ...(request.protect ?? [])]);
      const removed: string[] = [];
      for (const id of ids.filter((i) => !kept.has(i))) {
        for (const target of leftovers.get(id) ?? []) rmSync(target, { recursive: true, force: true });
        removed.push(id);
      }
      return removed;
    },
  };
}
