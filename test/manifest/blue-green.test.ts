import { stringify } from 'yaml';
import { parseManifest } from '../../src/manifest/load';

const nginx = { type: 'nginx', upstreamFile: '/etc/nginx/runbook/web.conf' };

function problemsOf(service: Record<string, unknown>, manifest: Record<string, unknown> = {}) {
  const result = parseManifest(
    stringify({
      app: 'web',
      host: 'web-1',
      root: '/srv/web',
      source: { type: 'copy', from: '/srv/staging' },
      services: [{ name: 'web', type: 'process', ...service }],
      ...manifest,
    }),
  );
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('manifest: blueGreen process services', () => {
  it('accepts two ports, a proxy and {{port}} in start, with defaults for the rest', () => {
    const result = parseManifest(
      stringify({
        app: 'web',
        host: 'web-1',
        root: '/srv/web',
        source: { type: 'copy', from: '/srv/staging' },
        services: [
          {
            name: 'web',
            type: 'process',
            start: 'python3 app.py {{port}}',
            blueGreen: { ports: [5001, 5002], proxy: nginx },
          },
        ],
      }),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.manifest.services[0]).toMatchObject({
      blueGreen: {
        ports: [5001, 5002],
        check: '/',
        drain: '2s',
        proxy: { ...nginx, test: ['nginx', '-t'], reload: ['nginx', '-s', 'reload'], pidFile: '/run/nginx.pid' },
      },
    });
  });

  it.each([
    [
      'a public port beside the two',
      { start: 'app {{port}}', port: 5000, blueGreen: { ports: [5001, 5002], proxy: nginx } },
      {},
      /services\[0\]\.port: .*drop port, list blueGreen\.ports/,
    ],
    [
      'the in-place strategy',
      { start: 'app', blueGreen: { ports: [5001, 5002], proxy: nginx } },
      { strategy: 'in-place' },
      /services\[0\]\.blueGreen: blueGreen needs strategy: releases/,
    ],
    [
      'the same port twice',
      { start: 'app', blueGreen: { ports: [5001, 5001], proxy: nginx } },
      {},
      /blueGreen\.ports: expected two different ports/,
    ],
    [
      'a proxy Runbook does not drive',
      { start: 'app', blueGreen: { ports: [5001, 5002], proxy: { type: 'haproxy' } } },
      {},
      /blueGreen\.proxy.*nginx or caddy/,
    ],
    ['{{port}} without blueGreen', { start: 'app {{port}}' }, {}, /services\[0\]\.start: .*only for blueGreen/],
  ])('refuses %s, naming the field', (_what, service, manifest, expected) => {
    expect(problemsOf(service, manifest).join('\n')).toMatch(expected);
  });
});
