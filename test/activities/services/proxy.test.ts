import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { proxyFor, type ProxyConfig } from '../../../src/activities/services/proxy';
import { hammer } from '../../../src/devserver/hammer';
import { startCaddy, startNginx, type LocalProxy } from '../../../src/devserver/proxy';

const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;

describe.each([
  ['nginx', startNginx],
  ['Caddy', startCaddy],
])('a real %s switched between two upstreams', (_name, startProxy) => {
  const upstreams: http.Server[] = [];
  const ports: number[] = [];
  let proxy: LocalProxy;

  beforeAll(async () => {
    for (const version of ['blue', 'green']) {
      const server = http.createServer((_request, response) => response.end(JSON.stringify({ version })));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      upstreams.push(server);
      ports.push((server.address() as AddressInfo).port);
    }
    proxy = await startProxy(ports[0]);
  });
  afterAll(async () => {
    await proxy?.stop();
    for (const server of upstreams) await new Promise((resolve) => server.close(resolve));
  });

  it('resets no connection that arrives while it applies a switch', async () => {
    // Clients arriving all the time, each on a new connection: none may be lost in the proxy's reload (Caddy
    // opens a new listening socket on every configuration change and closes the old one).
    const client = hammer(`${proxy.url}/`, { concurrency: 8, keepAlive: false });
    const switcher = proxyFor(proxy.manifestProxy as ProxyConfig, process.env);
    for (let i = 1; i <= 20; i++) {
      await run(() => switcher.switchTo(ports[i % 2]));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const report = await client.stop();

    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.versions).toEqual(['blue', 'green']);
    expect(report.ok).toBeGreaterThan(100);
  });
});
