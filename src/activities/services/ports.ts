import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Pids of processes listening on a TCP port, found through /proc as `netstat -ano | findstr 5000` does in
 * the Almareia guide: the socket's inode from /proc/net/tcp{,6}, then the processes holding that inode —
 * all of them, or only those `among` (a service's own tree: a few folders to read instead of all of /proc).
 */
export function pidsListeningOn(port: number, among?: number[]): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = parseInt(fields[1].split(':')[1], 16);
      const listening = fields[3] === '0A';
      if (listening && localPort === port) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of among?.map(String) ?? readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match && inodes.has(match[1])) {
          pids.push(Number(entry));
          break;
        }
      } catch {
        // the fd closed while we looked
      }
    }
  }
  return pids;
}
