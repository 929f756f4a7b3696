import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort } from '../../src/devserver/ports';

/** The kernel's range for the local ports of outgoing connections (and of listen(0)). */
function ephemeralRange(): [number, number] {
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return [low, high];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('freePort', () => {
  it('gives free ports outside the ephemeral range, which any outgoing connection may take before the port is bound', async () => {
    const [low, high] = ephemeralRange();
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(ports.filter((port) => port >= low && port <= high)).toEqual([]);
    for (const port of ports) expect(await canListen(port)).toBe(true);
  });

  it('never gives the same port twice in a process: ports picked together are bound later, all of them', async () => {
    // A seed test picks its API's, PostgreSQL's and Redis's ports at once and publishes them later: two equal
    // picks made Docker refuse the second ("port is already allocated").
    const ports: number[] = [];
    for (let i = 0; i < 2_000; i++) ports.push(await freePort());
    expect(ports.length - new Set(ports).size).toBe(0);
  });
});
