import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Where freePort looks, below the kernel's ephemeral range (32768 by default). */
const LOWEST = 10_000;
const TRIES = 50;

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a program about to be started on it. It is chosen
 * below the kernel's ephemeral range (net.ipv4.ip_local_port_range): a port from that range, as listen(0)
 * gives, is one the kernel may hand to any outgoing connection (a gRPC client's) before that program binds it.
 * Where no such range can be read or nothing lies below it, listen(0) decides.
 */
export async function freePort(): Promise<number> {
  const start = ephemeralStart();
  if (start !== undefined && start > LOWEST + 1) {
    for (let i = 0; i < TRIES; i++) {
      const pick = LOWEST + Math.floor(Math.random() * (start - LOWEST));
      if (given.has(pick)) continue;
      const port = await listensOn(pick);
      if (port !== undefined) return give(port);
    }
  }
  for (let i = 0; i < TRIES; i++) {
    const any = await listensOn(0);
    if (any === undefined) break;
    if (!given.has(any)) return give(any);
  }
  throw new Error('no free TCP port on 127.0.0.1');
}

/**
 * Ports handed out by this process: a caller may pick several before binding any (an app's and its
 * database's, published together later), so none is handed out twice.
 */
const given = new Set<number>();

function give(port: number): number {
  given.add(port);
  return port;
}

function ephemeralStart(): number | undefined {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** The port a listener got on `port` (0: any), closed again at once; undefined when it was taken. */
function listensOn(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) =>
      port !== 0 && (error.code === 'EADDRINUSE' || error.code === 'EACCES') ? resolve(undefined) : reject(error),
    );
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}
