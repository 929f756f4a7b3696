import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');
const BASE = 'app: demo\nhost: web-1\nroot: /srv/demo\nsource: { type: copy, from: /srv/staging/demo }\n';

const invalid: Array<[string, string, RegExp]> = [
  ['not YAML', 'app: demo\n  host: [\n', /:1: \(yaml\): not valid YAML/],
  ['a list instead of a map', '- a\n- b\n', /expected a YAML map/],
  ['a missing field', 'app: demo\nhost: web-1\nsource: { type: copy, from: /srv/x }\n', /root: required/],
  ['an unknown key (with a suggestion)', `${BASE}helth: {}\n`, /:5: helth: unknown key; did you mean 'health'\?/],
  [
    'an unknown service type',
    `${BASE}services: [ { name: web, type: docker, start: x } ]\n`,
    /services\[0\]\.type: expected type to be one of process, systemd, compose, command/,
  ],
  [
    'a wrong type',
    `${BASE}services: [ { name: web, type: process, start: x, port: 'http' } ]\n`,
    /services\[0\]\.port: expected a port number/,
  ],
  [
    'a bad URL',
    `${BASE}health: { checks: [ { http: 'http://x/' }, { http: 'notaurl' } ] }\n`,
    /health\.checks\[1\]\.http: expected a URL/,
  ],
  ['a bad duration', `${BASE}health: { within: soon }\n`, /health\.within: expected a duration such as 30s/],
  [
    'a bad cron',
    `${BASE}jobs: [ { name: j, run: echo } ]\nschedules: [ { name: s, cron: '0 7 * *', run: job, job: j } ]\n`,
    /schedules\[0\]\.cron: expected a 5-field cron expression/,
  ],
  [
    'an out-of-range cron field',
    `${BASE}jobs: [ { name: j, run: echo } ]\nschedules: [ { name: s, cron: '99 7 * * *', run: job, job: j } ]\n`,
    /schedules\[0\]\.cron: expected a cron expression/,
  ],
  [
    'an unknown time zone',
    `${BASE}jobs: [ { name: j, run: echo } ]\nschedules: [ { name: s, cron: '0 7 * * *', timezone: Mars/Base, run: job, job: j } ]\n`,
    /schedules\[0\]\.timezone: expected an IANA time zone/,
  ],
  [
    'a schedule naming a missing job',
    `${BASE}schedules: [ { name: s, cron: '0 7 * * *', run: job, job: nope } ]\n`,
    /schedules\[0\]\.job: no job named 'nope'/,
  ],
  [
    'an unknown check form',
    `${BASE}health: { checks: [ { htp: 'http://x/' } ] }\n`,
    /health\.checks\[0\]: unknown form; expected one of the keys: http, tcp/,
  ],
  [
    'a shell operator without shell: true',
    `${BASE}steps: { install: [ { run: 'pip install -r r.txt | tee log' } ] }\n`,
    /steps\.install\[0\]\.run: shell operator '\|'/,
  ],
  [
    'a secret value where a variable name belongs',
    `${BASE}notify: { channels: [ { webhook: { urlEnv: 'https://hooks.example.com/x' } } ] }\n`,
    /notify\.channels\[0\]\.webhook\.urlEnv: expected an environment variable name/,
  ],
  [
    'an unknown placeholder',
    `${BASE}steps: { install: [ { run: [pip, install, '{{pkg}}'] } ] }\n`,
    /steps\.install\[0\]\.run: unknown placeholder \{\{pkg\}\}/,
  ],
  [
    'a git source with both repo and repoEnv',
    'app: demo\nhost: web-1\nroot: /srv/demo\nsource: { type: git, repo: /srv/git/demo.git, repoEnv: GIT_URL }\n',
    /source\.repo: give exactly one of repo .* or repoEnv/,
  ],
  [
    'a YAML alias bomb',
    `${BASE}x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n${Array.from({ length: 8 }, (_, i) => `x${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`).join('\n')}\n`,
    /\(yaml\): .*alias/,
  ],
  [
    'a param pattern that does not compile',
    `${BASE}params: { tenantId: { pattern: '[0-9' } }\n`,
    /params\.tenantId\.pattern: expected a regular expression such as \[0-9\]\+/,
  ],
  [
    'a job param default that starts with a dash',
    `${BASE}jobs: [ { name: j, run: [echo, '{{p}}'], params: { p: { default: '--all' } } } ]\n`,
    /jobs\[0\]\.params\.p\.default: a value may not start with '-'/,
  ],
];

describe('runbook validate', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-validate-'));

  it('prints one summary line per valid manifest and exits 0', async () => {
    const files = ['almareia', 'flowlog', 'secretaria', 'orquetask', 'financial-etl'].map((n) =>
      path.join(EXAMPLES, `${n}.yaml`),
    );
    const result = await runCli(['validate', ...files]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^✓ .*almareia\.yaml: almareia: copy → in-place on web-1; web\(process\)/);
    expect(result.stderr).toBe('');
  });

  it.each(invalid)(
    'rejects %s with the path, how to fix it, exit 2 and no stack trace',
    async (label, text, expected) => {
      const file = path.join(dir, `${label.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, text);
      const result = await runCli(['validate', file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(expected);
      expect(result.stderr).toContain('error: 1 of 1 manifest(s) invalid');
      expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    },
  );

  it('reports every problem of a file, not just the first', async () => {
    const file = path.join(dir, 'many.yaml');
    writeFileSync(
      file,
      `${BASE}helth: {}\nservices: [ { name: web, type: process, start: x, port: 0 } ]\nhealth: { within: soon }\n`,
    );
    const result = await runCli(['validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('helth: unknown key');
    expect(result.stderr).toContain('services[0].port');
    expect(result.stderr).toContain('health.within');
  });

  it('gives scripts the same verdict as JSON', async () => {
    const bad = path.join(dir, 'json.yaml');
    writeFileSync(bad, `${BASE}health: { within: soon }\n`);
    const result = await runCli(['validate', '--json', path.join(EXAMPLES, 'almareia.yaml'), bad]);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(report[0]).toMatchObject({ valid: true, app: 'almareia' });
    expect(report[1]).toMatchObject({ valid: false, problems: [{ path: 'health.within', line: 5 }] });
  });

  it('refuses a missing file with exit 2', async () => {
    const result = await runCli(['validate', path.join(dir, 'nope.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot read .*nope\.yaml: no such file/);
  });
});
