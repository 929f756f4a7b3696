import { hostReachableUrl, publishedAddresses } from '../../src/activities/published';
import { parseManifest } from '../../src/manifest/load';

describe("a compose app's service URLs, as the host reaches them", () => {
  const published = { postgres: '127.0.0.1:15432', redis: 'localhost:16379' };

  it('replaces a mapped service host and its port, and keeps credentials, path and query', () => {
    expect(hostReachableUrl('postgresql://sv:p%40ss@postgres:5432/secretaria?sslmode=disable', published)).toBe(
      'postgresql://sv:p%40ss@127.0.0.1:15432/secretaria?sslmode=disable',
    );
    expect(hostReachableUrl('redis://:s3cret@redis:6379/0', published)).toBe('redis://:s3cret@localhost:16379/0');
    expect(hostReachableUrl('redis://redis/1', published)).toBe('redis://localhost:16379/1');
  });

  it('leaves other hosts and text that is not a URL alone', () => {
    expect(hostReachableUrl('postgresql://u@db.internal:5432/x', published)).toBe('postgresql://u@db.internal:5432/x');
    expect(hostReachableUrl('postgresql://u@postgres-replica:5432/x', published)).toBe(
      'postgresql://u@postgres-replica:5432/x',
    );
    expect(hostReachableUrl('host=postgres port=5432', published)).toBe('host=postgres port=5432');
    expect(hostReachableUrl('redis://constructor:1/0', published)).toBe('redis://constructor:1/0');
  });

  it("merges the published maps of the manifest's compose services", () => {
    const parsed = parseManifest(
      'app: a\nhost: h\nroot: /srv/a\nsource: { type: image, image: a }\nservices:\n' +
        "  - { name: db, type: compose, services: [postgres], published: { postgres: '127.0.0.1:15432' } }\n" +
        "  - { name: web, type: compose, services: [app], published: { redis: '127.0.0.1:16379' } }\n" +
        '  - { name: cron, type: command, start: [/bin/true], stop: [/bin/true] }\n',
    );
    if (!parsed.ok) throw new Error('bad manifest');
    expect(publishedAddresses(parsed.manifest)).toEqual({ postgres: '127.0.0.1:15432', redis: '127.0.0.1:16379' });
  });
});
