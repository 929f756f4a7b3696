import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** What a service's processes use now, read from /proc: the bake compares it with the service's limits. */
export interface ProcessUsage {
  /** Resident memory of all the processes. */
  rssBytes: number;
  /** CPU time all the processes have used so far (user + system); a rate comes from two readings. */
  cpuSeconds: number;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim();
    ticksPerSecond = Number(out) > 0 ? Number(out) : 100;
  }
  return ticksPerSecond;
}

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat), in clock ticks; 0 once the process is gone. */
function cpuTicks(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** What the given processes (a service's tree) use together now. */
export function processesUsage(pids: readonly number[]): ProcessUsage {
  return {
    rssBytes: pids.reduce((sum, pid) => sum + rssBytes(pid), 0),
    cpuSeconds: pids.reduce((sum, pid) => sum + cpuTicks(pid), 0) / clockTicks(),
  };
}
