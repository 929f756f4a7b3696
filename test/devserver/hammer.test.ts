import http from 'node:http';
import net from 'node:net';
import { getResending, hammer } from '../../src/devserver/hammer';
import { freePort } from '../../src/devserver/ports';

/**
 * A server that answers the first request of each connection and closes the connection without an answer
 * when its second request arrives: what a reloading proxy does to an idle keep-alive connection the client
 * sent on at that moment.
 */
async function closingOnSecondRequest() {
  const server = net.createServer((socket) => {
    let requests = 0;
    let buffered = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        if (++requests === 2) return void socket.resetAndDestroy();
        const body = '{"version":"v1"}';
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('hammer (the client that judges zero-downtime switches)', () => {
  it('resends a GET sent on a reused keep-alive connection that closed under it', async () => {
    const server = await closingOnSecondRequest();
    const client = hammer(server.url, { concurrency: 4 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const report = await client.stop();
    await server.close();

    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.resentOnClosedIdleConnection).toBeGreaterThan(0);
    expect(report.versions).toEqual(['v1']);
  });

  it("resends it too when the GET waited in the agent's queue for the socket another request freed", async () => {
    // Node's http.Agent marks a request `reusedSocket` only when it found the socket idle in its pool; a
    // queued request handed a socket another request just freed is sent on a reused connection all the same.
    const server = await closingOnSecondRequest();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let resent = 0;
    const answers = await Promise.all([
      getResending(server.url, agent, () => (resent += 1)),
      getResending(server.url, agent, () => (resent += 1)),
    ]);
    agent.destroy();
    await server.close();

    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(resent).toBe(1);
  });

  it('counts a GET that failed on a new connection as failed, never resent', async () => {
    const port = await freePort(); // nothing listens there
    const report = await hammer(`http://127.0.0.1:${port}/`, { concurrency: 1 }).stop();
    expect(report.failed).toBe(1);
    expect(report.resentOnClosedIdleConnection).toBe(0);
    expect(report.failures[0]).toMatch(/ECONNREFUSED/);
  });
});
