import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { removeStateFile } from '../host-state';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { leasesOf, parseWorkerId, workerId } from './attempts';
import { runbookCgroupRoot, subgroups } from './cgroups';
import { allProcesses, isSameProcess } from './proc';
import { ATTEMPT_MARKER, killTree } from './tree';

/** Whether the worker a `w-<pid>-<start>` name stands for still runs. */
function workerRuns(id: string): boolean {
  const worker = parseWorkerId(id);
  return worker !== undefined && isSameProcess(worker);
}

/**
 * Ends everything the attempts of the workers chosen by `dead` left running: their cgroups (each worker's
 * folder holds one cgroup per attempt), the processes carrying their marker where there are no cgroups,
 * and the containers their leases name; then forgets their leases.
 */
async function reap(dead: (worker: string) => boolean): Promise<void> {
  const root = runbookCgroupRoot();
  if (root)
    for (const dir of subgroups(root))
      if (/^w-\d+-\d+$/.test(path.basename(dir)) && dead(path.basename(dir))) await killTree({ cgroup: dir });
  const marked = new Set<string>();
  for (const env of markedAttempts()) if (dead(env.split('.')[0])) marked.add(env);
  for (const value of marked) await killTree({ marker: { name: ATTEMPT_MARKER, value } });
  for (const { file, lease } of leasesOf(dead)) {
    await killTree(lease);
    removeStateFile(file);
  }
}

/** A process's pid namespace, or undefined when it cannot be read (gone, or not ours to inspect). */
function pidNamespaceOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/**
 * The marker values found on running processes (`w-<pid>-<start>.<n>`) of this worker's pid namespace: a
 * marker names its worker by a pid of the namespace it ran in (a container's, a machine's), which out here
 * is another process or none, so its worker would look dead.
 */
function markedAttempts(): string[] {
  const values = new Set<string>();
  const ownNamespace = pidNamespaceOf('self');
  for (const p of allProcesses()) {
    let environ: string;
    try {
      if (pidNamespaceOf(p.pid) !== ownNamespace) continue;
      environ = readFileSync(`/proc/${p.pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    const entry = environ.split('\0').find((e) => e.startsWith(`${ATTEMPT_MARKER}=w-`));
    if (entry) values.add(entry.slice(ATTEMPT_MARKER.length + 1));
  }
  return [...values];
}

/** At a worker's start: what dead workers' attempts left on this host (their reaper died with them). */
export function reapDeadWorkers(): Promise<void> {
  return reap((worker) => worker !== workerId() && !workerRuns(worker));
}

/** The reaper's job when its worker has died: that worker's attempts, all of them. */
export function reapWorker(id: string): Promise<void> {
  return reap((worker) => worker === id);
}

/**
 * The worker's reaper: a shell that waits for the end of a pipe only the worker holds, which the kernel
 * closes however the worker ends (SIGKILL included); it then runs Node to end what the worker's attempts
 * left running. While the worker lives it costs one idle shell, not a Node process. It runs in its own
 * process group, so a Ctrl-C or a signal to the worker's group does not take it down before it acts.
 */
export function startReaper(): void {
  const script = path.join(__dirname, 'reaper-main.js');
  if (!existsSync(script)) return; // running from sources (a test's in-process worker): nothing to start
  const child = spawn('/bin/sh', ['-c', 'read _ ; exec "$0" "$@"', process.execPath, script, workerId()], {
    stdio: ['pipe', 'ignore', 'inherit'],
    detached: true,
  });
  child.unref();
  (child.stdin as Writable & { unref?: () => void }).unref?.();
}

/**
 * Before a worker runs host activities: ends what dead workers' attempts left on this host, and starts this
 * worker's reaper.
 */
export async function guardHostWorker(): Promise<void> {
  await reapDeadWorkers();
  startReaper();
}

/** How this worker keeps commands contained, for its start line. */
export function describeContainment(): string {
  const root = runbookCgroupRoot();
  return root
    ? `commands run in cgroups under ${root}`
    : 'commands run by process group and marker (no writable cgroup v2 here)';
}
