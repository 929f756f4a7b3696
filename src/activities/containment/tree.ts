import { execFile } from 'node:child_process';
import path from 'node:path';
import { cgroupMembers, isPopulated, killCgroup, removeCgroup, runbookCgroupRoot } from './cgroups';
import { removeContainerArgv, type ContainerRef } from './containers';
import { allProcesses, descendantsOf, isSameProcess, pause, processesWithEnv, type ProcessIdentity } from './proc';

/** An environment variable every process of a tree inherits, where no cgroup can hold the tree. */
export interface Marker {
  name: typeof ATTEMPT_MARKER | typeof SERVICE_MARKER;
  value: string;
}

/** Marks a command's processes: `w-<pid>-<start>.<n>`, the worker and the attempt. */
export const ATTEMPT_MARKER = 'RUNBOOK_ATTEMPT';
/** Marks a process service's processes. */
export const SERVICE_MARKER = 'RUNBOOK_SERVICE';

/**
 * The environment to start a command with, without markers it would otherwise inherit (from a worker that
 * was itself started by a command or a service), which would tie it to a tree that is not its own.
 */
export function unmarked(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv | undefined {
  const source = env ?? process.env;
  if (source[ATTEMPT_MARKER] === undefined && source[SERVICE_MARKER] === undefined) return env;
  const { [ATTEMPT_MARKER]: _attempt, [SERVICE_MARKER]: _service, ...rest } = source;
  return rest;
}

/**
 * Everything one command started, recorded so it can all be found again — by the attempt itself, by the
 * next attempt after a crash, or by the worker's reaper: its first process, and its cgroup where the host
 * offers one, or else the environment marker its descendants inherit; plus the containers it had Docker run.
 */
export interface ProcessTree {
  main?: ProcessIdentity;
  cgroup?: string;
  marker?: Marker;
  containers?: ContainerRef[];
}

/** The live processes of a tree, read now. */
export function treeMembers(tree: ProcessTree): number[] {
  const pids = new Set<number>();
  const mainAlive = tree.main !== undefined && isSameProcess(tree.main);
  if (mainAlive) pids.add(tree.main!.pid);
  if (tree.cgroup) for (const pid of cgroupMembers(tree.cgroup)) pids.add(pid);
  else if (mainAlive || tree.marker) {
    const table = allProcesses();
    const roots = mainAlive ? [tree.main!.pid] : [];
    // While the first process lives, its process group cannot be another's: it holds what did not setsid.
    if (mainAlive) for (const p of table) if (p.pgid === tree.main!.pid) roots.push(p.pid);
    if (tree.marker)
      for (const p of processesWithEnv(tree.marker.name, tree.marker.value, table, tree.main?.start)) roots.push(p.pid);
    for (const pid of roots) pids.add(pid);
    for (const p of descendantsOf(roots, table)) pids.add(p.pid);
  }
  pids.delete(process.pid);
  return [...pids];
}

export function isTreeRunning(tree: ProcessTree): boolean {
  return tree.cgroup ? isPopulated(tree.cgroup) || treeMembers(tree).length > 0 : treeMembers(tree).length > 0;
}

/** Sends a signal to every process of the tree; SIGKILL through the cgroup at once where there is one. */
export function signalTree(tree: ProcessTree, signal: NodeJS.Signals): void {
  if (signal === 'SIGKILL' && tree.cgroup) killCgroup(tree.cgroup);
  for (const pid of treeMembers(tree)) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
}

/**
 * Stops a whole tree: SIGTERM to every process, up to `graceMs` for them to exit (the activity heartbeats
 * meanwhile on the worker's timer), then SIGKILL; then its containers are removed and its cgroup deleted.
 * Returns the pids it found running.
 */
export async function stopTree(tree: ProcessTree, graceMs: number): Promise<number[]> {
  const found = treeMembers(tree);
  if (found.length > 0) {
    signalTree(tree, 'SIGTERM');
    await waitUntilStopped(tree, graceMs);
  }
  await killTree(tree);
  return found;
}

/**
 * SIGKILLs what is left of a tree, waits until the kernel has removed it, removes its containers and (unless
 * it is to be reused) its cgroup.
 */
export async function killTree(tree: ProcessTree, options: { keepCgroup?: boolean } = {}): Promise<void> {
  if (isTreeRunning(tree)) {
    signalTree(tree, 'SIGKILL');
    await waitUntilStopped(tree, 5_000, () => signalTree(tree, 'SIGKILL'));
  }
  for (const container of tree.containers ?? []) await removeContainer(container);
  if (tree.cgroup && !options.keepCgroup) removeCgroup(tree.cgroup);
}

/** Polls every 5 ms at first (most trees exit within a few ms of the signal), backing off to every 50 ms. */
async function waitUntilStopped(tree: ProcessTree, ms: number, eachPoll?: () => void): Promise<void> {
  const deadline = Date.now() + ms;
  for (let every = 5; isTreeRunning(tree) && Date.now() < deadline; every = Math.min(50, every * 2)) {
    await pause(every);
    eachPoll?.();
  }
}

function removeContainer(container: ContainerRef): Promise<void> {
  const [bin, ...args] = removeContainerArgv(container);
  return new Promise((resolve) => {
    execFile(bin, args, { env: container.env, timeout: 30_000 }, () => resolve());
  });
}

/**
 * What of a tree read back from a record Runbook acts on: a cgroup only under Runbook's own cgroup folder, a
 * marker only by Runbook's names. (Records live in the private state folder; this is the second fence.)
 */
export function trustedTree(recorded: ProcessTree): ProcessTree {
  const root = runbookCgroupRoot();
  return {
    main: recorded.main,
    cgroup: recorded.cgroup && root && isInside(recorded.cgroup, root) ? recorded.cgroup : undefined,
    marker:
      recorded.marker?.name === ATTEMPT_MARKER || recorded.marker?.name === SERVICE_MARKER
        ? recorded.marker
        : undefined,
    containers: recorded.containers,
  };
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, path.resolve(child));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
