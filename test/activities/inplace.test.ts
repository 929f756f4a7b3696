import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { archiveFileFor, failedTreeFor, restorableDeploys } from '../../src/activities/inplace';
import { appPaths } from '../../src/common/names';
import { loadManifestFile } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { startActivityHarness, type ActivityHarness } from '../support/activity-harness';
import { uniqueName } from '../support/temporal';
import { writeTree } from '../support/trees';
import { BEYOND_ONE_STRING, writeLongDeployLog } from '../support/deploy-log';

// The in-place archive through a real host worker: a worker killed while it zipped the live folder leaves
// the half-written archive under its temporary name (as the 30,000-file kill matrix showed); the retry
// must start clean, so the run ends with one archive and nothing half-written beside it.
describe('archiveLiveFolder', () => {
  let harness: ActivityHarness;
  let dir: string;

  beforeAll(async () => {
    harness = await startActivityHarness();
  });
  afterAll(async () => harness?.stop());
  beforeEach(() => {
    dir = path.join(os.tmpdir(), uniqueName('runbook-inplace'));
    mkdirSync(dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function inPlaceManifest(): Manifest {
    const file = path.join(dir, 'app.yaml');
    writeFileSync(
      file,
      stringify({
        app: 'almareia',
        host: harness.host,
        root: path.join(dir, 'srv', 'almareia'),
        strategy: 'in-place',
        source: { type: 'copy', from: path.join(dir, 'staging') },
        snapshot: { archiveDir: path.join(dir, 'archives') },
      }),
    );
    const loaded = loadManifestFile(file);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    return loaded.manifest;
  }

  it('removes the partial archive a killed attempt left, and ends with the one archive', async () => {
    const manifest = inPlaceManifest();
    writeTree(manifest.root, 200, 'v1');
    const archive = archiveFileFor(manifest, '20250101T000000Z-0a1b2c3d');
    mkdirSync(path.dirname(archive), { recursive: true });
    // What a worker SIGKILLed mid-zip leaves: the archive's temporary name, with that worker's pid in it.
    writeFileSync(`${archive}.partial-999999-deadbeef`, 'PK half an archive');

    const result = await harness.call<{ file: string; bytes: number }>(
      'archiveLiveFolder',
      [{ manifest, deployId: '20250101T000000Z-0a1b2c3d' }],
      { heartbeatTimeout: '5s' },
    );
    expect(result.file).toBe(archive);
    expect(result.bytes).toBeGreaterThan(0);
    expect(readdirSync(path.dirname(archive))).toEqual([path.basename(archive)]);
  });

  it('prunes by when deploys ran, not by the random end of ids that share a second', async () => {
    const manifest = { ...inPlaceManifest(), releases: { keep: 1 } } as Manifest;
    // Two deploys within one second: the earlier one's id happens to sort last.
    const [earlier, later] = ['20250101T000000Z-ffffffff', '20250101T000000Z-00000000'];
    for (const [id, seconds] of [
      [earlier, 1_000],
      [later, 2_000],
    ] as const) {
      const state = path.join(appPaths(manifest).stateDir, 'deploys', id);
      mkdirSync(state, { recursive: true });
      utimesSync(state, seconds, seconds);
      mkdirSync(failedTreeFor(manifest, id), { recursive: true });
    }
    const removed = await harness.call<string[]>('pruneInPlace', [{ manifest }], { heartbeatTimeout: '5s' });
    expect(removed).toEqual([earlier]);
    expect(existsSync(failedTreeFor(manifest, earlier))).toBe(false);
    expect(existsSync(failedTreeFor(manifest, later))).toBe(true);
  });

  const deployLine = (manifest: Manifest, release: string, ref: string) => ({
    at: '2025-01-01T00:00:00Z',
    kind: 'deploy',
    app: manifest.app,
    outcome: 'succeeded',
    ref,
    release,
    summary: `deployed ${ref}`,
    workflowId: `deploy-${ref}`,
    runId: `run-${ref}`,
    steps: [],
  });
  // Two deploys within one second: the earlier deploy's id happens to sort last; the deploy log says which came first.
  const [earlier, later] = ['20250101T000000Z-ffffffff', '20250101T000000Z-00000000'];
  const keepSnapshotOfEarlier = (manifest: Manifest) => {
    const stateDir = appPaths(manifest).stateDir;
    mkdirSync(path.join(stateDir, 'deploys', later), { recursive: true });
    writeFileSync(
      path.join(stateDir, 'deploys', later, 'snapshot.json'),
      JSON.stringify({ deployId: later, of: earlier, ref: 'v1', copy: '/nowhere', takenAt: '2025-01-01T00:00:00Z' }),
    );
  };

  it('offers the deploy before the live one even when both ids share a second', async () => {
    const manifest = inPlaceManifest();
    keepSnapshotOfEarlier(manifest);
    // The later line as a person might have written it back, spaced out.
    writeFileSync(
      appPaths(manifest).deployLog,
      `${JSON.stringify(deployLine(manifest, earlier, 'v1'))}\n${JSON.stringify(deployLine(manifest, later, 'v2')).replace(/":/g, '" : ')}\n`,
    );
    expect(await restorableDeploys(manifest)).toEqual({ live: later, restorable: [{ id: earlier, ref: 'v1' }] });
  });

  it('finds the live and restorable deploys in the copies logrotate made of the log', async () => {
    const manifest = inPlaceManifest();
    keepSnapshotOfEarlier(manifest);
    const log = appPaths(manifest).deployLog;
    writeFileSync(`${log}.2.gz`, gzipSync(`${JSON.stringify(deployLine(manifest, earlier, 'v1'))}\n`));
    writeFileSync(`${log}.1`, `${JSON.stringify(deployLine(manifest, later, 'v2'))}\n`);
    utimesSync(`${log}.2.gz`, new Date('2026-10-01T00:00:00Z'), new Date('2026-10-01T00:00:00Z'));
    utimesSync(`${log}.1`, new Date('2026-11-01T00:00:00Z'), new Date('2026-11-01T00:00:00Z'));
    writeFileSync(log, '');
    expect(await restorableDeploys(manifest)).toEqual({ live: later, restorable: [{ id: earlier, ref: 'v1' }] });
  });

  it('finds the live and restorable deploys behind years of later runs in the log (more than one string holds)', async () => {
    const manifest = inPlaceManifest();
    keepSnapshotOfEarlier(manifest);
    writeLongDeployLog(appPaths(manifest).deployLog, {
      bytes: BEYOND_ONE_STRING,
      app: manifest.app,
      first: [deployLine(manifest, earlier, 'v1'), deployLine(manifest, later, 'v2')],
    });
    expect(await restorableDeploys(manifest)).toEqual({ live: later, restorable: [{ id: earlier, ref: 'v1' }] });
  });
});
