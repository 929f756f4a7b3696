import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/devserver/ports';
import { waitFor } from '../support/postgres';
import { stageAlmareia, type AlmareiaVersion } from '../support/seed-apps/almareia';
import { rewriteExample, startSeedRun, type SeedRun } from '../support/seed-apps/seed-run';
import { writeStandinWheel } from '../support/seed-apps/wheel';
import { seedMachine, seedScratchDir } from '../support/seed-services';
import { connectClient, uniqueName } from '../support/temporal';
import { treeListing } from '../support/trees';

jest.setTimeout(300_000);

/*
 * Seed 003, Almareia: examples/almareia.yaml deployed as written (paths, host and port rewritten) in place, by
 * a worker on a Linux server: tests on the staging copy, a zip of the production folder, stop whoever holds
 * the port, copy, pip install into the folder's venv, start detached, check /, /login, /api/status and
 * app.log; a release that fails its checks is rolled back and the folder is exactly what it was — venv and
 * uploads included, though the zip excludes them — with the failed tree kept as _failed_<id>.
 */
describe('Almareia (seed 003) in place', () => {
  const machine = seedMachine();
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let dir: string;
  let root: string;
  let staging: string;
  let backups: string;
  let port: number;
  let wheels: Record<string, Buffer>;
  let run: SeedRun;

  const get = async (pathname: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(3_000) });
    return { status: response.status, body: (await response.json()) as { version?: string; uploads?: string[] } };
  };
  /** The folder's every file but the app's log, which the restarted app appends to. */
  const listing = () => treeListing(root, ['app.log']);
  /** Runbook keeps an in-place app's deploy log beside its folder. */
  const deployLog = () =>
    readFileSync(`${root}.runbook/deploy_log.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; outcome: string; ref: string; release: string });
  const deploy = (spec: AlmareiaVersion) => {
    stageAlmareia(staging, spec, wheels);
    return run.deploy({ ref: spec.version });
  };

  beforeAll(async () => {
    temporal = await connectClient();
    dir = seedScratchDir(uniqueName('almareia'));
    root = path.join(dir, 'srv', 'almareia');
    staging = path.join(dir, 'srv', 'staging', 'almareia');
    backups = path.join(dir, 'srv', 'backups', 'almareia');
    port = await freePort();
    wheels = {
      '1.0': readFileSync(await writeStandinWheel(dir, '1.0')),
      '1.1': readFileSync(await writeStandinWheel(dir, '1.1')),
    };
    const host = uniqueName('web');
    run = await startSeedRun({
      client: temporal.client,
      app: 'almareia',
      host,
      dir,
      machine,
      manifestText: rewriteExample('almareia', [
        ['host: web-1', `host: ${host}`],
        ['/srv/staging/almareia', staging],
        ['/srv/backups/almareia', backups],
        ['/srv/almareia', root],
        ['5000', String(port)],
        // the guide's 15-minute watch, shortened: every check still runs through it a few times
        ['bake: 15m', 'bake: 4s'],
        ['bakeInterval: 15s', 'bakeInterval: 1s'],
      ]),
    });
  });
  afterAll(async () => {
    await run?.stop();
    await machine.exec(['sh', '-c', `fuser -k ${port}/tcp || true`]);
    await temporal?.close();
  });

  it('deploys v1 and v2 in place: tests, zip, copy, pip install into the venv, start, checks', async () => {
    const first = await deploy({ version: 'v1', stack: '1.0' });
    expect([first.report.outcome, first.report.error]).toEqual(['succeeded', undefined]);
    expect(await get('/')).toEqual({ status: 200, body: { version: 'v1', page: 'home' } });
    writeFileSync(path.join(root, 'uploads', 'nota-fiscal-001.pdf'), 'a guest uploaded this under v1\n');

    const second = await deploy({ version: 'v2', stack: '1.0' });
    expect([second.report.outcome, second.report.error]).toEqual(['succeeded', undefined]);
    expect(await get('/api/status')).toEqual({
      status: 200,
      body: { version: 'v2', uploads: ['nota-fiscal-001.pdf'] },
    });
    // the guide's backup: a zip of the production folder, without the venv and the uploads
    expect(readdirSync(backups).filter((f) => f.endsWith('.zip'))).toHaveLength(2);
  });

  it('rolls a failing release back to exactly the folder it replaced, venv and uploads included', async () => {
    writeFileSync(path.join(root, 'uploads', 'nota-fiscal-002.pdf'), 'uploaded under v2\n');
    const before = listing();
    const appLog = readFileSync(path.join(root, 'app.log'), 'utf8');
    const logLines = deployLog().length;

    // v3 pins a new stack (pip changes the venv) and breaks /login
    const broken = await deploy({ version: 'v3', stack: '1.1', brokenLogin: true });
    expect([broken.report.outcome, broken.report.error]).toEqual([
      'rolled_back',
      expect.stringMatching(/login page .* answered 500/),
    ]);
    await waitFor(async () => expect((await get('/')).body.version).toBe('v2'), 60_000, 500);

    expect(listing()).toEqual(before);
    expect(readFileSync(path.join(root, 'app.log'), 'utf8').startsWith(appLog)).toBe(true);
    expect(deployLog().slice(logLines)).toEqual([expect.objectContaining({ ref: 'v3', outcome: 'rolled_back' })]);
    const failed = path.join(path.dirname(root), `almareia_failed_${broken.report.release}`);
    expect(readFileSync(path.join(failed, 'VERSION'), 'utf8')).toBe('v3\n');
    expect(existsSync(path.join(failed, 'venv', 'lib'))).toBe(true);
  });

  it('runbook rollback takes the folder back to an earlier good deploy, keeping the uploads made since', async () => {
    const back = await run.rollback();
    expect([back.report.outcome, back.report.error]).toEqual(['succeeded', undefined]);
    await waitFor(async () => expect((await get('/')).body.version).toBe('v1'), 60_000, 500);
    expect((await get('/api/status')).body.uploads).toEqual(['nota-fiscal-001.pdf', 'nota-fiscal-002.pdf']);
    expect(readFileSync(path.join(root, 'VERSION'), 'utf8')).toBe('v1\n');
    expect(deployLog().at(-1)).toMatchObject({ kind: 'rollback', outcome: 'succeeded' });
  });
});
