import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadManifestFile } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { startActivityHarness, type ActivityHarness } from '../support/activity-harness';
import { createDatabase, sql } from '../support/postgres';
import { uniqueName } from '../support/temporal';
import { countFiles, treeDigest, writeTree } from '../support/trees';

jest.setTimeout(300_000);

// Long file work at real size, driven through the real worker with a heartbeat timeout far shorter than
// the work: an attempt must keep heartbeating for its whole run, and a second attempt must never act while
// the first still does.
describe('long host activities at real size never overlap their attempts', () => {
  let harness: ActivityHarness;
  let dir: string;

  beforeAll(async () => {
    harness = await startActivityHarness();
  });
  afterAll(async () => harness?.stop());
  beforeEach(() => {
    dir = path.join(os.tmpdir(), uniqueName('runbook-attempts'));
    mkdirSync(dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function manifestWith(raw: Record<string, unknown>): Manifest {
    const file = path.join(dir, 'app.yaml');
    writeFileSync(file, stringify({ app: 'attempts', host: harness.host, root: path.join(dir, 'srv'), ...raw }));
    const loaded = loadManifestFile(file);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    return loaded.manifest;
  }

  it('restores a 30,000-file backup with a 2 s heartbeat timeout: one attempt, the tree exactly as backed up, no staging left', async () => {
    const uploads = path.join(dir, 'shared', 'uploads');
    writeTree(uploads, 30_000);
    const manifest = manifestWith({
      source: { type: 'copy', from: path.join(dir, 'staging') },
      backups: {
        dir: path.join(dir, 'backups'),
        targets: [{ name: 'uploads', files: { paths: [uploads], format: 'zip' } }],
      },
    });
    const backedUp = treeDigest(uploads);
    const artifact = await harness.call<{ id: string; file: string; sha256: string }>(
      'createBackupArtifact',
      [
        {
          manifest,
          target: 'uploads',
          stamp: '20250101T000000Z',
          logicalDate: '2025-01-01T00:00:00Z',
          workflowId: 'w',
          runId: 'r',
        },
      ],
      { heartbeatTimeout: '2s' },
    );
    const entry = { ...artifact, verified: true };
    rmSync(path.join(uploads, 'lib', 'pkg7'), { recursive: true });
    writeFileSync(path.join(uploads, 'lib', 'pkg8', 'm1.py'), 'changed since the backup');

    await harness.call('restoreFilesBackup', [{ manifest, entry, stamp: '20250102T000000Z', scratch: false }], {
      heartbeatTimeout: '2s',
      maximumAttempts: 3,
    });
    expect(await harness.attemptsOfLastCall()).toBe(1);
    expect(treeDigest(uploads)).toBe(backedUp);
    expect(countFiles(`${uploads}_replaced_20250102T000000Z`)).toBe(29_900);
    expect(readdirSync(path.dirname(uploads)).filter((n) => n.startsWith('.runbook-restore'))).toEqual([]);
  });

  it('dumps a database whose dump takes longer to hash than the 1 s heartbeat timeout: one attempt, the checksum of the file', async () => {
    const url = await createDatabase(process.env.RUNBOOK_TEST_PG_URL!, uniqueName('bigdump').replace(/-/g, '_'));
    // ~700 MB of dump (uncompressed), stored small by PostgreSQL's own compression of repeated text.
    await sql(url, `CREATE TABLE big AS SELECT i, repeat(md5(i::text), 20000) AS t FROM generate_series(1, 1100) AS i`);
    const manifest = manifestWith({
      source: { type: 'copy', from: path.join(dir, 'staging') },
      backups: {
        dir: path.join(dir, 'backups'),
        targets: [{ name: 'db', postgres: { urlEnv: 'BIG_DATABASE_URL', format: 'custom', compress: 0 } }],
      },
    });
    process.env.BIG_DATABASE_URL = url;
    const artifact = await harness.call<{ file: string; sha256: string; bytes: number }>(
      'createBackupArtifact',
      [
        {
          manifest,
          target: 'db',
          stamp: '20250101T000000Z',
          logicalDate: '2025-01-01T00:00:00Z',
          workflowId: 'w',
          runId: 'r',
        },
      ],
      { heartbeatTimeout: '1s', maximumAttempts: 3 },
    );
    expect(await harness.attemptsOfLastCall()).toBe(1);
    expect(artifact.bytes).toBeGreaterThan(600_000_000);
    const hash = createHash('sha256');
    for await (const chunk of (await import('node:fs')).createReadStream(artifact.file)) hash.update(chunk as Buffer);
    expect(artifact.sha256).toBe(hash.digest('hex'));
    expect(readdirSync(path.dirname(artifact.file))).toEqual([path.basename(artifact.file)]);
    expect(existsSync(`${artifact.file}.pid`)).toBe(false);
    void readFileSync;
  });
});
