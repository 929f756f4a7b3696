import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');
const FROM_DIST = { RUNBOOK_CLI_SNAPSHOT: 'off' };

/** What a CLI process loaded from files, written by a preload script when it exits. */
async function loadedBy(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; program?: string } = {},
): Promise<{ code: number | null; stdout: string; files: string[]; packages: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-startup-'));
  const list = path.join(dir, 'loaded.json');
  const preload = path.join(dir, 'preload.js');
  writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(Object.keys(require.cache))));`,
  );
  const result = await runCli(args, { ...options, env: { ...options.env, NODE_OPTIONS: `--require ${preload}` } });
  const files = (JSON.parse(readFileSync(list, 'utf8')) as string[]).filter((file) => file !== preload);
  const packages = new Set(
    files
      .filter((file) => file.includes(`${path.sep}node_modules${path.sep}`))
      .map((file) => {
        const [first, second] = file.slice(file.lastIndexOf('node_modules') + 'node_modules/'.length).split(path.sep);
        return first.startsWith('@') ? `${first}/${second}` : first;
      }),
  );
  return { code: result.code, stdout: result.stdout, files, packages: [...packages].sort() };
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

describe('CLI start-up from dist/ (no snapshot: RUNBOOK_CLI_SNAPSHOT=off, or none built)', () => {
  it.each([
    ['runbook --help', ['--help']],
    ['runbook deploy --help', ['deploy', '--help']],
    ['runbook validate', ['validate', path.join(EXAMPLES, 'almareia.yaml'), path.join(EXAMPLES, 'orquetask.yaml')]],
  ])('%s loads no Temporal SDK, database, Redis, mail or archive library', async (_name, args) => {
    const { code, packages } = await loadedBy(args, { env: FROM_DIST });
    expect(code).toBe(0);
    expect(packages).toContain('commander');
    expect(packages.filter((name) => HEAVY.includes(name))).toEqual([]);
  });

  it.each([
    ['runbook --help', ['--help']],
    ['runbook deploy --help', ['deploy', '--help']],
  ])('%s loads no manifest reader either (YAML, zod schema, cron parser)', async (_name, args) => {
    const { code, packages } = await loadedBy(args, { env: FROM_DIST });
    expect(code).toBe(0);
    expect(packages.filter((name) => ['yaml', 'zod', 'cron-parser'].includes(name))).toEqual([]);
  });

  it('a command that talks to Temporal still loads the SDK when it runs', async () => {
    const { code, packages } = await loadedBy(['status', 'deploy-nothing-here'], { env: FROM_DIST });
    expect(code).not.toBe(0);
    expect(packages).toContain('@temporalio/client');
  });
});

describe('CLI start-up from the snapshot (bin/runbook, dist/cli/runbook.blob)', () => {
  const VALIDATE = ['validate', path.join(EXAMPLES, 'almareia.yaml'), path.join(EXAMPLES, 'orquetask.yaml')];

  it('runs a command with nothing loaded from dist/ or node_modules, printing what dist/ prints', async () => {
    const fromSnapshot = await loadedBy(VALIDATE);
    const fromDist = await loadedBy(VALIDATE, { env: FROM_DIST });
    expect(fromSnapshot.files).toEqual([]);
    expect(fromDist.files).toContain(path.join(ROOT, 'dist', 'cli', 'cli.js'));
    expect({ code: fromSnapshot.code, stdout: fromSnapshot.stdout }).toEqual({ code: 0, stdout: fromDist.stdout });
  });

  it('a command that talks to Temporal also loads the SDK from the snapshot’s bundle, not node_modules', async () => {
    const { code, files } = await loadedBy(['status', 'deploy-nothing-here']);
    expect(code).not.toBe(0);
    expect(files).toEqual([]);
  });

  // A copy of the checkout (node_modules shared) whose blob the test can age, remove or move.
  function checkoutCopy(): { root: string; program: string; blob: string; stampHere: () => void } {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'runbook-checkout-')));
    cpSync(path.join(ROOT, 'bin'), path.join(root, 'bin'), { recursive: true });
    cpSync(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true, preserveTimestamps: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    const blob = path.join(root, 'dist', 'cli', 'runbook.blob');
    const stamp = readFileSync(`${blob}.stamp`, 'utf8');
    return {
      root,
      program: path.join(root, 'bin', 'runbook'),
      blob,
      stampHere: () => writeFileSync(`${blob}.stamp`, stamp.replace(ROOT, root)),
    };
  }

  it('starts from a copied checkout’s own fresh snapshot (the control for the cases below)', async () => {
    const copy = checkoutCopy();
    copy.stampHere();
    const { code, files } = await loadedBy(VALIDATE, { program: copy.program });
    expect(code).toBe(0);
    expect(files).toEqual([]);
    rmSync(copy.root, { recursive: true, force: true });
  });

  it.each([
    ['no blob was built', (copy: ReturnType<typeof checkoutCopy>) => rmSync(copy.blob)],
    ['the blob was built in another checkout', () => undefined],
    [
      'dist/ was rebuilt after the blob',
      (copy: ReturnType<typeof checkoutCopy>) => {
        const later = new Date(Date.now() + 60_000);
        utimesSync(path.join(copy.root, 'dist', 'cli', 'cli.js'), later, later);
      },
    ],
    [
      'another Node runs it',
      (copy: ReturnType<typeof checkoutCopy>) => {
        const dir = path.join(copy.root, 'other-node');
        mkdirSync(dir);
        const script = `#!/bin/sh\n[ "$1" = --version ] && { echo v0.0.0; exit 0; }\nexec ${process.execPath} "$@"\n`;
        writeFileSync(path.join(dir, 'node'), script, { mode: 0o755 });
      },
    ],
  ])('runs from dist/, with the same result, when %s', async (name, change) => {
    const copy = checkoutCopy();
    if (name !== 'the blob was built in another checkout') copy.stampHere();
    change(copy);
    const env = { PATH: `${path.join(copy.root, 'other-node')}:${process.env.PATH}` };
    const { code, stdout, files } = await loadedBy(VALIDATE, { program: copy.program, env });
    expect(files).toContain(path.join(copy.root, 'dist', 'cli', 'cli.js'));
    expect({ code, stdout }).toEqual({ code: 0, stdout: (await loadedBy(VALIDATE, { env: FROM_DIST })).stdout });
    rmSync(copy.root, { recursive: true, force: true });
  });
});
