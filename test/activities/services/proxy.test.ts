import {
  caddyUpstreamsRequest,
  nginxUpstreamPort,
  nginxUpstreamText,
  proxyFor,
} from '../../../src/activities/services/proxy';
import { freePort } from '../../../src/devserver/ports';
import { startCaddy, type LocalProxy } from '../../../src/devserver/proxy';

describe('proxy requests (pure)', () => {
  it('nginx: the upstream file holds one server line, read back as its port', () => {
    expect(nginxUpstreamText(5002)).toContain('\nserver 127.0.0.1:5002;\n');
    expect(nginxUpstreamPort(nginxUpstreamText(5002))).toBe(5002);
    expect(nginxUpstreamPort('# nothing yet\n')).toBeUndefined();
  });

  it("Caddy: GET and PATCH the handler's upstreams by its @id", () => {
    const config = { type: 'caddy' as const, admin: 'http://127.0.0.1:2019/', upstreamId: 'almareia-web' };
    expect(caddyUpstreamsRequest(config)).toEqual({
      method: 'GET',
      url: 'http://127.0.0.1:2019/id/almareia-web/upstreams',
    });
    expect(caddyUpstreamsRequest(config, 5001)).toEqual({
      method: 'PATCH',
      url: 'http://127.0.0.1:2019/id/almareia-web/upstreams',
      body: '[{"dial":"127.0.0.1:5001"}]',
    });
  });
});

describe("Caddy's admin API", () => {
  let caddy: LocalProxy;
  beforeAll(async () => {
    caddy = await startCaddy(await freePort());
  });
  afterAll(() => caddy.stop());

  it('answers a read right after a switch: every change closes the connections the admin API kept open', async () => {
    const proxy = proxyFor(caddy.manifestProxy, process.env);
    const failures: string[] = [];
    for (let i = 0; i < 600; i++) {
      const port = 5000 + (i % 2);
      try {
        await proxy.switchTo(port);
        expect(await proxy.current()).toBe(port);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    expect(failures).toEqual([]);
  });
});
