import { proxyFor } from '../../../src/activities/services/proxy';
import { freePort } from '../../../src/devserver/ports';
import { startCaddy, type LocalProxy } from '../../../src/devserver/proxy';

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
