import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');

/** The packages a CLI process loaded, written by a preload script when it exits. */
async function packagesLoadedBy(args: string[]): Promise<{ code: number | null; packages: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-startup-'));
  const list = path.join(dir, 'loaded.json');
  const preload = path.join(dir, 'preload.js');
  writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(Object.keys(require.cache))));`,
  );
  const result = await runCli(args, { env: { NODE_OPTIONS: `--require ${preload}` } });
  const files = JSON.parse(readFileSync(list, 'utf8')) as string[];
  const packages = new Set(
    files
      .filter((file) => file.includes(`${path.sep}node_modules${path.sep}`))
      .map((file) => {
        const [first, second] = file.slice(file.lastIndexOf('node_modules') + 'node_modules/'.length).split(path.sep);
        return first.startsWith('@') ? `${first}/${second}` : first;
      }),
  );
  return { code: result.code, packages: [...packages].sort() };
}

// What a CLI that only prints help or checks a manifest must not pay for at start (each costs 0.1-0.7 s).
const HEAVY = [
  '@temporalio/client',
  '@temporalio/common',
  '@temporalio/worker',
  '@temporalio/proto',
  '@grpc/grpc-js',
  'pg',
  'ioredis',
  'nodemailer',
  '@sendgrid/mail',
  'tar',
  'yazl',
  'yauzl',
];

describe('CLI start-up', () => {
  it.each([
    ['runbook --help', ['--help']],
    ['runbook deploy --help', ['deploy', '--help']],
    ['runbook validate', ['validate', path.join(EXAMPLES, 'almareia.yaml'), path.join(EXAMPLES, 'orquetask.yaml')]],
  ])('%s loads no Temporal SDK, database, Redis, mail or archive library', async (_name, args) => {
    const { code, packages } = await packagesLoadedBy(args);
    expect(code).toBe(0);
    expect(packages).toContain('commander');
    expect(packages.filter((name) => HEAVY.includes(name))).toEqual([]);
  });

  it.each([
    ['runbook --help', ['--help']],
    ['runbook deploy --help', ['deploy', '--help']],
  ])('%s loads no manifest reader either (YAML, zod schema, cron parser)', async (_name, args) => {
    const { code, packages } = await packagesLoadedBy(args);
    expect(code).toBe(0);
    expect(packages.filter((name) => ['yaml', 'zod', 'cron-parser'].includes(name))).toEqual([]);
  });

  it('a command that talks to Temporal still loads the SDK when it runs', async () => {
    const { code, packages } = await packagesLoadedBy(['status', 'deploy-nothing-here']);
    expect(code).not.toBe(0);
    expect(packages).toContain('@temporalio/client');
  });
});
