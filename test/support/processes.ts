import { readdirSync, readFileSync } from 'node:fs';

/**
 * Live processes whose command line mentions `token` (a path only one test uses), found through /proc; with
 * `parent`, only that process's children.
 */
export function processesMentioning(token: string, parent?: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || (parent !== undefined && Number(fields[1]) !== parent)) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(token)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** The lines of a file that steps append to, one per run; none when it does not exist yet. */
export function linesOf(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The forkers (src/activities/containment/forker.ts) `parent` started: node running the forker's program. */
export function forkersOf(parent: number): number[] {
  return processesMentioning("process.on('disconnect'", parent);
}

/** The spare shells a forker started that wait on stdin for the script that makes them a command. */
export function sparesOf(forker: number): number[] {
  return processesMentioning('eval "$(cat)"', forker);
}
