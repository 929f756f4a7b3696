import { spawn } from 'node:child_process';
import net from 'node:net';
import { listensOn, pidsListeningOn } from '../../../src/activities/services/ports';

const listen = () =>
  new Promise<net.Server>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => resolve(server));
  });
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
const close = (server: net.Server) => new Promise((resolve) => server.close(resolve));

describe('ports', () => {
  it('finds the process listening on a port, among all processes or among the ones given', async () => {
    const server = await listen();
    const port = portOf(server);
    const other = spawn('sleep', ['30']);
    try {
      expect(pidsListeningOn(port)).toEqual([process.pid]);
      expect(listensOn(port, [process.pid])).toBe(true);
      expect(listensOn(port, [other.pid!])).toBe(false);
      expect(listensOn(port + 1 === 65536 ? 1 : port + 1, [process.pid])).toBe(false);
      expect(listensOn(port, [])).toBe(false);
    } finally {
      other.kill('SIGKILL');
      await close(server);
    }
    expect(listensOn(port, [process.pid])).toBe(false);
    expect(pidsListeningOn(port)).toEqual([]);
  });

  it('does not count a connection on the port as listening', async () => {
    const server = await listen();
    const port = portOf(server);
    const client = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const closed = close(server); // stops listening at once; ends once the connection does
    try {
      expect(listensOn(port, [process.pid])).toBe(false);
    } finally {
      client.destroy();
      await closed;
    }
  });
});
