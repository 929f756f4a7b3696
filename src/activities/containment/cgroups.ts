import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Runbook's cgroup v2 folder on this host, or undefined where none can be made (no cgroup2 mount, a
 * read-only or undelegated tree, RUNBOOK_CONTAINMENT=process-group). It sits inside the worker's own
 * cgroup, which is what a systemd unit with `Delegate=yes` hands to its service; on a host without systemd
 * it is the cgroup the worker was started in. Every process that joins a cgroup stays in it (and its
 * children with it) whatever it forks, double-forks or `setsid`s, so the folder names everything a command
 * started, and `cgroup.kill` ends all of it at once.
 */
export function runbookCgroupRoot(): string | undefined {
  if (process.env.RUNBOOK_CONTAINMENT === 'process-group') return undefined;
  if (detected === undefined) detected = detect() ?? null;
  return detected ?? undefined;
}

let detected: string | null | undefined;

function detect(): string | undefined {
  const mount = cgroup2Mount();
  const own = ownCgroup();
  // A process whose cgroup lies outside its cgroup namespace (entered with nsenter) sees it as `/../..`.
  if (!mount || own === undefined || own.split('/').includes('..')) return undefined;
  const relative = mount.root !== '/' && own.startsWith(mount.root) ? own.slice(mount.root.length) : own;
  const root = path.join(mount.point, relative, 'runbook');
  try {
    mkdirSync(root, { recursive: true });
  } catch {
    return undefined;
  }
  return isCgroup(root) && canJoin(root) ? root : undefined;
}

/** A process can be moved into a cgroup made here (what every contained command does before it execs). */
function canJoin(root: string): boolean {
  const probe = path.join(root, `probe-${process.pid}`);
  try {
    mkdirSync(probe, { recursive: true });
    if (!isCgroup(probe)) return false;
    const result = spawnSync('/bin/sh', ['-c', 'echo 0 > "$0"', path.join(probe, 'cgroup.procs')], {
      stdio: 'ignore',
    });
    return result.status === 0;
  } catch {
    return false;
  } finally {
    removeCgroup(probe);
  }
}

/** A folder of the cgroup file system (the kernel fills each new one with its control files). */
function isCgroup(dir: string): boolean {
  return existsSync(path.join(dir, 'cgroup.procs'));
}

function cgroup2Mount(): { point: string; root: string } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!after?.startsWith('cgroup2 ')) continue;
    const fields = before.split(' ');
    return { root: unescapeMount(fields[3]), point: unescapeMount(fields[4]) };
  }
  return undefined;
}

function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function ownCgroup(): string | undefined {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line?.slice(3);
  } catch {
    return undefined;
  }
}

/**
 * argv that moves itself into `cgroup` (made again if another worker's stop has just removed it) and then
 * execs `argv`: nothing it forks can start outside. Pure.
 */
export function joinCgroupArgv(cgroup: string, argv: string[]): string[] {
  return ['/bin/sh', '-c', `${JOIN_CGROUP}; exec "$@"`, cgroup, ...argv];
}

/**
 * argv of a shell that moves itself into `cgroup`, then runs the script it is given on stdin (which ends by
 * exec'ing the command: see spareScript). Pure.
 */
export function joinCgroupThenReadArgv(cgroup: string): string[] {
  return ['/bin/sh', '-c', `${JOIN_CGROUP}; eval "$(cat)"`, cgroup];
}

const JOIN_CGROUP =
  'echo 0 2>/dev/null > "$0/cgroup.procs" || { mkdir -p "$0" && echo 0 > "$0/cgroup.procs"; } ||' +
  ' { echo "runbook: cannot join the cgroup $0" >&2; exit 125; }';

export function createCgroup(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** The processes in a cgroup and in every cgroup below it. */
export function cgroupMembers(dir: string): number[] {
  const pids: number[] = [];
  const visit = (folder: string) => {
    let procs: string;
    try {
      procs = readFileSync(path.join(folder, 'cgroup.procs'), 'utf8');
    } catch {
      return;
    }
    for (const line of procs.split('\n')) if (line) pids.push(Number(line));
    for (const child of subgroups(folder)) visit(child);
  };
  visit(dir);
  return pids;
}

export function isPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

export function signalCgroup(dir: string, signal: NodeJS.Signals): void {
  for (const pid of cgroupMembers(dir)) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
}

/** SIGKILLs everything in the cgroup at once (`cgroup.kill`; on kernels before 5.14 frozen, then killed). */
export function killCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  try {
    writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    return;
  } catch {
    // no cgroup.kill on this kernel
  }
  const freeze = (value: string) => {
    try {
      writeFileSync(path.join(dir, 'cgroup.freeze'), value);
    } catch {
      // no freezer either: the kill loop below still converges
    }
  };
  freeze('1');
  signalCgroup(dir, 'SIGKILL');
  freeze('0');
}

/** Removes an empty cgroup and the empty ones below it; false while processes remain in it. */
export function removeCgroup(dir: string): boolean {
  for (const child of subgroups(dir)) removeCgroup(child);
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

export function subgroups(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}
