import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import {
  hostQueue,
  readStateJson,
  removeStateFile,
  stateDir,
  stateFileName,
  stateFiles,
  writeStateFile,
} from '../host-state';
import { createCgroup, isPopulated, joinCgroupArgv, removeCgroup, runbookCgroupRoot } from './cgroups';
import { containerName, dockerEnvironment, nameContainer } from './containers';
import { identityOf } from './proc';
import { endForker, whenStarted, type CommandProcess } from './forker';
import { withParentDeathSignal } from './parent-death';
import { discardSpare, launchSpare, spareScript, startSpare, type Spare } from './spares';
import { ATTEMPT_MARKER, killTree, stopTree, trustedTree, unmarked, type ProcessTree } from './tree';

/** This worker process, named so its attempts can be told from a dead worker's: `w-<pid>-<start time>`. */
export function workerId(): string {
  if (!ownId) ownId = `w-${process.pid}-${identityOf(process.pid)?.start ?? 0}`;
  return ownId;
}
let ownId: string | undefined;

/** The worker a `w-<pid>-<start>` name stands for, to check whether it still runs. */
export function parseWorkerId(id: string): { pid: number; start: string } | undefined {
  const match = /^w-(\d+)-(\d+)$/.exec(id);
  return match ? { pid: Number(match[1]), start: match[2] } : undefined;
}

/**
 * A lease: the record of the command a piece of work (a step, a job date, a dump) is running on this host,
 * kept in Runbook's state folder under a name derived from the work, so the work's next attempt finds and
 * stops it before it starts again, whichever worker ran it.
 */
interface Lease extends ProcessTree {
  key: string;
  attempt: string;
  worker: string;
}

export interface Attempt {
  id: string;
  tree: ProcessTree;
  /**
   * Starts the command, named and in its cgroup, dying with the worker's own death: a spare already in its
   * cgroup becomes it where one is ready (not for a command given stdin), else it is spawned. Records it.
   */
  spawn(options: { cwd?: string; stdin: boolean }): Promise<CommandProcess>;
  /** After the first process exited: kills whatever it left running, removes its containers, forgets it. */
  finish(): Promise<void>;
}

let attempts = 0;

/**
 * Empty cgroups of finished attempts, given to the next ones: making and removing a cgroup costs the kernel
 * far more (milliseconds on a busy host) than the command that runs in it may take.
 */
const idleCgroups: string[] = [];
const IDLE_CGROUPS = 8;

function releaseCgroup(cgroup: string): void {
  if (idleCgroups.length < IDLE_CGROUPS && !isPopulated(cgroup)) idleCgroups.push(cgroup);
  else removeCgroup(cgroup);
}

/** A cgroup for a command, under this worker's folder. */
function takeCgroup(root: string): string {
  const cgroup = idleCgroups.pop() ?? path.join(root, workerId(), `a-${++attempts}`);
  createCgroup(cgroup);
  return cgroup;
}

/** The one spare this worker keeps ready (see spares.ts), and the start of the next one when it is due. */
let spare: Spare | undefined;
let spareDue: NodeJS.Immediate | undefined;

/**
 * Starts the next spare while the command just started runs: a fork of the worker blocks its event loop
 * for milliseconds, time the command takes anyway (measured: forking it after the command, the next
 * workflow task and activity poll waited for it instead).
 */
function prepareSpare(root: string): void {
  if (spare || spareDue) return;
  spareDue = setImmediate(() => {
    spareDue = undefined;
    if (!spare) spare = startSpare(takeCgroup(root));
  }).unref();
}

/**
 * Once the workers have stopped: ends the spare no command will take, removes the idle cgroups and ends the
 * forker once nothing it started runs. A spare left waiting would hold its process, its pipes and, through
 * them, the whole context that started it (in a test file's in-process workers: every module of the file)
 * until this process exits. Workers started again later make new ones as their commands need them.
 */
export async function endSpare(): Promise<void> {
  if (spareDue) clearImmediate(spareDue);
  spareDue = undefined;
  const unused = spare;
  spare = undefined;
  if (unused) {
    await discardSpare(unused);
    removeCgroup(unused.cgroup);
  }
  for (const cgroup of idleCgroups.splice(0)) removeCgroup(cgroup);
  await endForker();
}

/**
 * The spare, once it has started (it takes the forker a millisecond or two), or none when it died or the
 * forker does not answer (then the command is spawned the usual way).
 */
async function takeSpare(): Promise<Spare | undefined> {
  const taken = spare;
  spare = undefined;
  if (!taken) return undefined;
  if (await whenStarted(taken.child, 1_000)) return taken;
  void discardSpare(taken);
  releaseCgroup(taken.cgroup);
  return undefined;
}

/**
 * Prepares one run of a command so that nothing it starts can outlive it: stops what an earlier attempt
 * at the same work (`lease`) left running, then gives the command a cgroup of its own under this worker's
 * (or, where the host has none to give, an environment marker) and a container name for `docker run`.
 */
export async function beginAttempt(options: {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  lease?: string;
}): Promise<Attempt> {
  if (options.lease) await stopLeftover(options.lease);
  const id = `${workerId()}.${++attempts}`;
  const tree: ProcessTree = {};
  let env = unmarked(options.env);
  const named = nameContainer(options.argv, containerName(id));
  const argv = named.argv;
  if (named.container) tree.containers = [{ ...named.container, env: dockerEnvironment(env ?? process.env) }];
  const cgroupRoot = runbookCgroupRoot();
  if (!cgroupRoot) {
    tree.marker = { name: ATTEMPT_MARKER, value: id };
    env = { ...(env ?? process.env), [ATTEMPT_MARKER]: id };
  }
  // A container outlives everything but its removal: its name is recorded even for work without a lease.
  const lease = options.lease ?? (named.container ? `containers/${id}` : undefined);
  const file = lease ? leaseFile(lease) : undefined;
  let finished: Promise<void> | undefined;
  /** The lease's write: resolves to its error, if any (surfaced by finish()). */
  let recorded: Promise<Error | undefined> | undefined;
  const start = async (cwd: string | undefined, stdin: boolean): Promise<CommandProcess> => {
    if (!cgroupRoot) return spawnContained(withParentDeathSignal(argv), { cwd, env, stdin });
    const script = stdin ? undefined : spareScript(argv, env ?? process.env, cwd);
    const ready = script === undefined ? undefined : await takeSpare();
    prepareSpare(cgroupRoot);
    if (ready) {
      tree.cgroup = ready.cgroup;
      return launchSpare(ready, script!);
    }
    tree.cgroup = takeCgroup(cgroupRoot);
    return spawnContained(withParentDeathSignal(joinCgroupArgv(tree.cgroup, argv)), { cwd, env, stdin });
  };
  return {
    id,
    tree,
    async spawn({ cwd, stdin }) {
      const child = await start(cwd, stdin);
      if (child.pid) {
        tree.main = identityOf(child.pid);
        // Not flushed to disk (a millisecond a command): it must outlive this worker, which the kernel's copy
        // does, not the machine, whose crash ends every process it names. Not awaited: the caller listens for a
        // quick command's exit at once, and a failed write (a full disk) fails the attempt in finish(), once
        // the command is stopped.
        if (file)
          recorded = writeStateFile(file, JSON.stringify({ key: lease, attempt: id, worker: workerId(), ...tree }), {
            durable: false,
          }).then(
            () => undefined,
            (error: Error) => error,
          );
      }
      return child;
    },
    finish() {
      finished ??= (async () => {
        const unrecorded = await recorded;
        await killTree(tree, { keepCgroup: true });
        // A later attempt that stopped this one owns the lease now.
        if (file && readStateJson<Lease>(file)?.attempt === id) removeStateFile(file);
        if (tree.cgroup) releaseCgroup(tree.cgroup);
        // A stop timer that fires later must not reach the next attempt given this cgroup.
        delete tree.cgroup;
        delete tree.main;
        delete tree.containers;
        if (unrecorded) throw unrecorded;
      })();
      return finished;
    },
  };
}

function spawnContained(
  argv: string[],
  options: { cwd: string | undefined; env: NodeJS.ProcessEnv | undefined; stdin: boolean },
): ChildProcess {
  return spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, apart from the worker's
  });
}

/**
 * Stops what an earlier attempt at the same work left running (its whole tree: SIGTERM, 10 s, SIGKILL)
 * and forgets it. A lease whose first process is gone still names its cgroup or marker, so grandchildren
 * that outlived their parent are found too; a recorded pid that now belongs to another process is never
 * signalled (its start time differs).
 */
export async function stopLeftover(lease: string): Promise<number[]> {
  const file = leaseFile(lease);
  const recorded = readStateJson<Lease>(file);
  if (!recorded) {
    removeStateFile(file); // a symlink or garbage planted in its place
    return [];
  }
  const stopped = await stopTree(trustedTree(recorded), 10_000);
  removeStateFile(file);
  return stopped;
}

/** Leases are per host queue: two hosts simulated on one machine run the same work side by side. */
export function leaseFile(key: string): string {
  return path.join(stateDir('leases'), stateFileName(`${hostQueue()}/${key}`, '.json'));
}

/** The leases recorded by one worker (or by every worker that no longer runs, when `worker` is undefined). */
export function leasesOf(select: (worker: string) => boolean): Array<{ file: string; lease: Lease }> {
  const dir = stateDir('leases');
  const out: Array<{ file: string; lease: Lease }> = [];
  for (const name of stateFiles(dir)) {
    const file = path.join(dir, name);
    const lease = readStateJson<Lease>(file);
    if (lease && select(lease.worker)) out.push({ file, lease: { ...lease, ...trustedTree(lease) } });
  }
  return out;
}
