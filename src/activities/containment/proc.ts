import { readdirSync, readFileSync } from 'node:fs';

/** What /proc/<pid>/stat says about a process. */
export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  /** Field 22: clock ticks after boot. With the pid it names one process for the machine's uptime. */
  start: string;
  /** Field 9: the kernel's PF_* flags. */
  flags: number;
  /** Field 51: where the environment ends in the process's memory; 0 while it has none. */
  envEnd: string;
}

/** A process as Runbook records it: a pid alone may be reused by an unrelated process after this one dies. */
export interface ProcessIdentity {
  pid: number;
  start: string;
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    state: rest[0],
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    start: rest[19],
    flags: Number(rest[6]),
    envEnd: rest[48],
  };
}

/** Whether a process exists and is not a zombie (an orphan nobody has reaped yet counts as gone). */
export function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** The identity of a live process, read now. */
export function identityOf(pid: number): ProcessIdentity | undefined {
  const stat = procStat(pid);
  return stat && stat.state !== 'Z' ? { pid, start: stat.start } : undefined;
}

/** Whether the recorded process still runs: same pid and same start time, so never a reused pid. */
export function isSameProcess(recorded: ProcessIdentity): boolean {
  const stat = procStat(recorded.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.start === recorded.start;
}

/** Every live process of the machine (that this user may see). */
export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.state !== 'Z') out.push(stat);
  }
  return out;
}

/** The processes below `roots` in the process tree (children, grandchildren, …), read from one /proc scan. */
export function descendantsOf(roots: readonly number[], table: readonly ProcStat[] = allProcesses()): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of table) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p);
    else children.set(p.ppid, [p]);
  }
  const found: ProcStat[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/**
 * Processes whose environment holds `name=<value starting with prefix>`. Children inherit the environment
 * through fork, setsid and double forks, so this finds what the process tree lost when a parent died.
 * With `since` (a start time), only processes that started then or later are read: a command's descendants
 * are never older than the command.
 */
export function processesWithEnv(
  name: string,
  prefix: string,
  table: readonly ProcStat[] = allProcesses(),
  since?: string,
): ProcStat[] {
  const needle = `${name}=${prefix}`;
  const oldest = since === undefined ? 0 : Number(since);
  return table.filter((p) => {
    if (Number(p.start) < oldest) return false;
    const environ = environmentOf(p.pid);
    return environ !== undefined && environ.split('\0').some((entry) => entry.startsWith(needle));
  });
}

/** How long to wait for a process caught inside `execve` to get its environment back. */
const EXEC_WAIT_MS = 200;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * A process's environment as /proc shows it, or undefined once it has exited. A process inside `execve` has
 * its new memory but not yet the environment in it, and reads as empty for that moment: a tree scan that
 * caught a command's daemon mid-exec would think it gone. So an empty read is taken again once the process's
 * stat says its exec is over (or up to 200 ms).
 */
function environmentOf(pid: number): string | undefined {
  const deadline = Date.now() + EXEC_WAIT_MS;
  for (;;) {
    const environ = readEnviron(pid);
    if (environ !== '') return environ;
    const inExec = isInsideExec(pid);
    if (inExec === undefined) return undefined;
    if (!inExec) return readEnviron(pid);
    if (Date.now() >= deadline) return environ;
    Atomics.wait(sleeper, 0, 0, 1);
  }
}

function readEnviron(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
}

/**
 * Whether a process is between `execve`'s new memory and the environment in it: its stat's `env_end` is 0,
 * as for no process past its exec (even one with an empty environment). Kernel threads and exiting
 * processes, which have no memory of their own, read 0 too. Undefined once the process has exited.
 */
function isInsideExec(pid: number): boolean | undefined {
  const stat = procStat(pid);
  if (stat === undefined) return undefined;
  return (stat.flags & (PF_KTHREAD | PF_EXITING)) === 0 && stat.envEnd === '0';
}

const PF_EXITING = 0x4;
const PF_KTHREAD = 0x200000;

/** Sends a signal to a recorded process only while it is still that process. Returns whether it was sent. */
export function signalProcess(target: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!isSameProcess(target)) return false;
  try {
    process.kill(target.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Sleeps between polls of a stop. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
