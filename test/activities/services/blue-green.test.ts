import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../../src/activities';
import { serviceActivities } from '../../../src/activities/services';
import { pidsListeningOn } from '../../../src/activities/services/ports';
import { servingVersion, stageDemoApp, type DemoBehavior } from '../../../src/devserver/demo-app';
import { hammer } from '../../../src/devserver/hammer';
import { freePort } from '../../../src/devserver/ports';
import { startCaddy, startNginx, type LocalProxy } from '../../../src/devserver/proxy';
import { parseManifest } from '../../../src/manifest/load';
import type { Manifest } from '../../../src/manifest/types';
import { stringify } from 'yaml';

const activities = serviceActivities(activityConfigFromEnv());
const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;

describe.each([
  ['nginx', startNginx],
  ['Caddy', startCaddy],
])('blue/green process service behind a real %s', (_name, startProxy) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-blue-green-'));
  let proxy: LocalProxy;
  let manifest: Manifest;
  let ports: [number, number];

  const release = (version: string, behavior: DemoBehavior = 'ok') => {
    const releaseDir = path.join(dir, 'srv', 'releases', version);
    stageDemoApp(releaseDir, version, { behavior });
    return releaseDir;
  };
  const pidOn = (port: number) => pidsListeningOn(port);

  beforeAll(async () => {
    ports = [await freePort(), await freePort()];
    proxy = await startProxy(ports[0]);
    const parsed = parseManifest(
      stringify({
        app: 'bg',
        host: 'web-1',
        root: path.join(dir, 'srv'),
        source: { type: 'copy', from: path.join(dir, 'staging') },
        services: [
          {
            name: 'web',
            type: 'process',
            start: ['python3', 'app.py', '{{port}}'],
            log: 'app.log',
            stopTimeout: '2s',
            blueGreen: { ports, proxy: proxy.manifestProxy, check: '/login', drain: '500ms' },
          },
        ],
        health: { within: '5s', interval: '100ms' },
      }),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    manifest = parsed.manifest;
  });

  afterAll(async () => {
    await run(() => activities.stopServices({ manifest }));
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('switches releases and back while a client hammering the proxy sees no failed request', async () => {
    await run(() => activities.startServices({ manifest, dir: release('v1') }));
    const client = hammer(`${proxy.url}/`);

    // A deploy: v2 starts on the idle port, the proxy switches, v1 keeps running until it is retired.
    const v1Pid = pidOn(ports[1]);
    expect(v1Pid).toHaveLength(1);
    await run(() => activities.startServices({ manifest, dir: release('v2'), switching: true }));
    // An automatic rollback before the retire: back to the v1 process that never stopped, v2 retired.
    await run(() => activities.stopServices({ manifest, switching: true }));
    await run(() => activities.startServices({ manifest, dir: path.join(dir, 'srv', 'releases', 'v1') }));
    expect(pidOn(ports[1])).toEqual(v1Pid);
    expect(await servingVersion(proxy.url)).toBe('v1');
    // A release whose own check never passes is stopped before the proxy ever sends to it.
    await expect(
      run(() => activities.startServices({ manifest, dir: release('v3-broken', 'http500'), switching: true })),
    ).rejects.toThrow(/did not answer 2xx.*the proxy still sends to the previous release/s);
    // A good deploy to the end: switch, then retire the previous release after the drain.
    await run(() => activities.startServices({ manifest, dir: release('v4'), switching: true }));
    await run(() => activities.retirePrevious({ manifest }));

    const report = await client.stop();
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.ok).toBeGreaterThan(50);
    expect(report.versions).toEqual(['v1', 'v2', 'v4']);
    const statuses = await run(() => activities.servicesStatus({ manifest }));
    expect(statuses).toEqual([{ name: 'web', type: 'process', running: true }]);
  });
});
