import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  commandEnvironment,
  environmentFileText,
  secretValues,
  serviceEnvironment,
} from '../../src/activities/environment';
import { redact } from '../../src/activities/redact';
import { runCommand } from '../../src/activities/shell';
import { parseManifest } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';

const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-env-'));
const envFile = path.join(dir, 'app.env');
writeFileSync(
  envFile,
  [
    'SECRET_KEY=sk-live-4f9a8b7c6d5e4f3a2b1c',
    'SENDGRID_API_KEY=SG.q7w8e9r0t1y2u3i4o5p6',
    'DATABASE_URL=postgresql://shop:p%40ss-w0rd-73b1@127.0.0.1:5432/shop',
    'FLASK_ENV=production',
  ].join('\n'),
);

function manifest(extra = ''): Manifest {
  const parsed = parseManifest(
    `app: shop\nhost: web-1\nroot: ${dir}\nsource: { type: copy, from: ${dir} }\nenv: { file: ${envFile}, required: [REQUIRED_TOKEN] }\n${extra}`,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.manifest;
}

const WORKER_ENV = {
  PATH: process.env.PATH,
  HOME: '/root',
  LANG: 'C.UTF-8',
  RUNBOOK_DATABASE_URL: 'postgresql://runbook:audit-pw-2c4e6a@127.0.0.1/runbook',
  SMTP_PASSWORD: 'smtp-password-9d8c7b',
  OTHER_APP_SECRET: 'other-app-secret-1a2b3c',
  REQUIRED_TOKEN: 'required-token-5f6e7d',
  REDIS_URL: 'redis://:redis-pw-8e7f6a@127.0.0.1:6379/0',
};

describe("an app's environment and what is masked", () => {
  it("gives app commands the env file, the required names and the allow-list, never the worker's own secrets", () => {
    const env = commandEnvironment(manifest(), WORKER_ENV);
    expect(env).toEqual({
      PATH: process.env.PATH,
      HOME: '/root',
      LANG: 'C.UTF-8',
      REQUIRED_TOKEN: 'required-token-5f6e7d',
      SECRET_KEY: 'sk-live-4f9a8b7c6d5e4f3a2b1c',
      SENDGRID_API_KEY: 'SG.q7w8e9r0t1y2u3i4o5p6',
      DATABASE_URL: 'postgresql://shop:p%40ss-w0rd-73b1@127.0.0.1:5432/shop',
      FLASK_ENV: 'production',
    });
  });

  it('a real command sees exactly that environment', async () => {
    const result = await runCommand({ argv: ['env'], env: commandEnvironment(manifest(), WORKER_ENV) });
    expect(result.stdoutTail).not.toContain('RUNBOOK_DATABASE_URL');
    expect(result.stdoutTail).not.toContain('SMTP_PASSWORD');
    expect(result.stdoutTail).not.toContain('OTHER_APP_SECRET');
    expect(result.stdoutTail).toContain('REQUIRED_TOKEN=required-token-5f6e7d');
  });

  it('masks every env-file value, every named value, URL passwords and URL-encoded forms', () => {
    const secrets = secretValues(manifest('health: { checks: [ { redis: { urlEnv: REDIS_URL } } ] }\n'), WORKER_ENV);
    const output = [
      'SECRET_KEY=sk-live-4f9a8b7c6d5e4f3a2b1c',
      'key=SG.q7w8e9r0t1y2u3i4o5p6',
      'password=p@ss-w0rd-73b1 encoded p%40ss-w0rd-73b1',
      'token=required-token-5f6e7d quoted=required-token-5f6e7d',
      'redis password=redis-pw-8e7f6a',
      `url=${encodeURIComponent('sk-live-4f9a8b7c6d5e4f3a2b1c')} ${encodeURIComponent('postgresql://shop:p%40ss-w0rd-73b1@127.0.0.1:5432/shop')}`,
    ].join('\n');
    const masked = redact(output, secrets);
    for (const secret of ['sk-live', 'SG.q7w8', 'w0rd-73b1', 'required-token', 'redis-pw', 'p%2540ss'])
      expect(masked).not.toContain(secret);
    expect(masked).toContain('SECRET_KEY=***');
    expect(masked).toContain('password=*** encoded ***');
  });

  it('masks a secret cut in half at the edge of a kept tail or head', () => {
    const secrets = secretValues(manifest(), WORKER_ENV);
    const output = `start ${'x'.repeat(100)} SECRET_KEY=sk-live-4f9a8b7c6d5e4f3a2b1c ${'y'.repeat(100)}`;
    const cut = output.indexOf('6d5e4f');
    expect(redact(output.slice(cut), secrets)).toBe(`*** ${'y'.repeat(100)}`);
    expect(redact(output.slice(0, cut), secrets)).toBe(`start ${'x'.repeat(100)} SECRET_KEY=***`);
  });

  it('leaves short values (a port, a flag) and ordinary words alone', () => {
    expect(redact('listening on port 80, debug 0', secretValues(manifest(), WORKER_ENV))).toBe(
      'listening on port 80, debug 0',
    );
  });
});

describe("an app's environment for its services", () => {
  it("holds the env file's names and the required ones, with the app environment's values, not the worker's others", () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'runbook-env-')), '.env');
    writeFileSync(file, 'SECRET_KEY=from-file\nFLASK_APP=app.py\n');
    const env = { SECRET_KEY: 'from-file', FLASK_APP: 'app.py', DATABASE_URI: 'postgresql://db/app', PATH: '/bin' };
    expect(serviceEnvironment({ env: { file, required: ['DATABASE_URI', 'MISSING'] } }, env)).toEqual({
      DATABASE_URI: 'postgresql://db/app',
      FLASK_APP: 'app.py',
      SECRET_KEY: 'from-file',
    });
  });

  it('writes NAME="value" lines with what systemd unescapes inside double quotes escaped', () => {
    expect(environmentFileText({ A: 'plain', B: 'quote " back \\ dollar $HOME tick `x`', C: 'two\nlines' })).toBe(
      'A="plain"\nB="quote \\" back \\\\ dollar \\$HOME tick \\`x\\`"\nC="two\nlines"\n',
    );
  });
});
