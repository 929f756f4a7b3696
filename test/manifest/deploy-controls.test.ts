import { parseManifest } from '../../src/manifest/load';
import { formatBytes, parseBytes, parsePercent } from '../../src/common/units';

const BASE = `app: shop
host: web-1
root: /srv/shop
source: { type: copy, from: /srv/staging/shop }
`;

function problems(yaml: string): string[] {
  const result = parseManifest(BASE + yaml);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('manifest: failure policy, skippable steps, bake and limits', () => {
  it('defaults: roll back on failure, a decision waits 1h, no bake (checked every 10s when set)', () => {
    const result = parseManifest(BASE);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.manifest).toMatchObject({
      onFailure: 'rollback',
      decisionTimeout: '1h',
      health: { bakeInterval: '10s' },
    });
    expect(result.manifest.health.bake).toBeUndefined();
  });

  it('accepts ask, skippable steps, a bake with its interval and limits on process and systemd services', () => {
    expect(
      problems(`onFailure: ask
decisionTimeout: 30m
steps:
  build: [{ name: warm cache, run: python3 warm.py, skippable: true }]
services:
  - { name: web, type: process, start: python3 app.py, limits: { memory: 512MiB, cpu: 150% } }
  - { name: worker, type: systemd, unit: shop-worker, limits: { memory: 1.5G } }
health:
  bake: 10m
  bakeInterval: 15s
`),
    ).toEqual([]);
  });

  it('names each wrong field and how to write it', () => {
    expect(problems('onFailure: retry\n')).toEqual(['onFailure: expected one of: rollback, ask']);
    expect(problems('health: { bake: ten minutes }\n')).toEqual([
      'health.bake: expected a duration such as 30s, 5m or 1h30m',
    ]);
    expect(problems('health: { bake: 30s, bakeInterval: 1m }\n')).toEqual([
      'health.bakeInterval: expected at most health.bake (30s)',
    ]);
    expect(
      problems('health: { bake: 5m }\nservices: [{ name: web, type: process, start: x, limits: { memory: 512 } }]\n'),
    ).toEqual(['services[0].limits.memory: expected a size such as 512MiB or 1.5G (1024-based, as systemd reads it)']);
    expect(
      problems('health: { bake: 5m }\nservices: [{ name: web, type: process, start: x, limits: { cpu: "1.5" } }]\n'),
    ).toEqual(['services[0].limits.cpu: expected a share of one CPU core such as 80% or 150%']);
    expect(problems('services: [{ name: web, type: process, start: x, limits: { memory: 1G } }]\n')).toEqual([
      'services[0].limits: limits are checked during the bake: set health.bake (e.g. 10m), or remove them',
    ]);
    expect(
      problems(
        'health: { bake: 5m }\nservices: [{ name: web, type: compose, services: [web], limits: { memory: 1G } }]\n',
      ),
    ).toEqual(['services[0].limits: limits are measured for process and systemd services only; remove them here']);
  });

  it('reads sizes 1024-based, as systemd does, and shares of a core', () => {
    expect(parseBytes('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseBytes('512M')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('512')).toBeUndefined();
    expect(parsePercent('150%')).toBe(150);
    expect(parsePercent('150')).toBeUndefined();
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(512 * 1024 ** 2)).toBe('512 MiB');
  });
});
