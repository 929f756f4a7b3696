import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** What a service's processes use now, read from /proc: the bake compares it with the service's limits. */
export interface ProcessUsage {
  pids: number[];
  /** Resident memory of all the processes. */
  rssBytes: number;
  /** CPU time all the processes have used so far (user + system); a rate comes from two readings. */
  cpuSeconds: number;
}

interface Stat {
  pid: number;
  ppid: number;
  pgid: number;
  ticks: number;
  /** Clock ticks after boot: with the pid it names one process, so a restart shows as a new start. */
  start: string;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim();
    ticksPerSecond = Number(out) > 0 ? Number(out) : 100;
  }
  return ticksPerSecond;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  return {
    pid,
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    ticks: Number(rest[11]) + Number(rest[12]),
    start: rest[19],
  };
}

function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A live process's start time (clock ticks after boot), or undefined when it is gone or a zombie. */
export function processStart(pid: number): string | undefined {
  return readStat(pid)?.start;
}

/** The process, its process group (a detached service leads its own) and every descendant of either. */
export function processTreeUsage(root: number): ProcessUsage {
  const table: Stat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) table.push(stat);
  }
  const members = new Set(table.filter((p) => p.pid === root || p.pgid === root).map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of table)
      if (!members.has(p.pid) && members.has(p.ppid)) {
        members.add(p.pid);
        grew = true;
      }
  }
  const chosen = table.filter((p) => members.has(p.pid));
  return {
    pids: chosen.map((p) => p.pid),
    rssBytes: chosen.reduce((sum, p) => sum + rssBytes(p.pid), 0),
    cpuSeconds: chosen.reduce((sum, p) => sum + p.ticks, 0) / clockTicks(),
  };
}
