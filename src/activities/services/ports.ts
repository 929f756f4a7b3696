import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Pids of processes listening on a TCP port, found through /proc as `netstat -ano | findstr 5000` does in
 * the Almareia guide: the socket's inode from /proc/net/tcp{,6}, then the processes holding that inode.
 */
export function pidsListeningOn(port: number): number[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (socketInodes(Number(entry)).some((inode) => inodes.has(inode))) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Whether one of `pids` (a service's own processes) listens on a TCP port. Cheap enough to poll while a
 * service starts: the socket tables are read only once one of them holds a socket.
 */
export function listensOn(port: number, pids: number[]): boolean {
  const sockets = new Set(pids.flatMap(socketInodes));
  if (sockets.size === 0) return false;
  return [...listeningInodes(port)].some((inode) => sockets.has(inode));
}

/** The inodes of the sockets listening on a TCP port (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
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
  return inodes;
}

/** The inodes of the sockets a process holds open; none when it is gone or not ours to read. */
function socketInodes(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes: string[] = [];
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.push(match[1]);
    } catch {
      // the fd closed while we looked
    }
  }
  return inodes;
}
