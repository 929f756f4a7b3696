import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadManifestFile } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { startActivityHarness, type ActivityHarness } from '../support/activity-harness';
import { createDatabase, queryColumn, sql } from '../support/postgres';
import { uniqueName } from '../support/temporal';

// The deploy's database snapshot of `snapshot.database.schemas`, through a real host worker and a real
// PostgreSQL. The Financial ETL's first deploy creates its `audit` schema in a migrate step, after the
// snapshot: pg_dump -n audit then found nothing ("no matching schemas were found") and the deploy retried it
// for twenty attempts instead of going on. A schema that does not exist yet is part of the state before the
// deploy: restoring the snapshot removes it again.
describe('snapshotDatabase / restoreDatabaseSnapshot of listed schemas', () => {
  let harness: ActivityHarness;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    harness = await startActivityHarness();
  });
  afterAll(async () => harness?.stop());
  beforeEach(async () => {
    dir = path.join(os.tmpdir(), uniqueName('runbook-snapshots'));
    mkdirSync(dir, { recursive: true });
    url = await createDatabase(process.env.RUNBOOK_TEST_PG_URL!, uniqueName('snap').replace(/-/g, '_'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function manifestWith(schemas: string[]): Manifest {
    writeFileSync(path.join(dir, '.env'), `DATABASE_URL=${url}\n`);
    const file = path.join(dir, 'app.yaml');
    writeFileSync(
      file,
      stringify({
        app: 'financial-etl',
        host: harness.host,
        root: path.join(dir, 'srv'),
        source: { type: 'copy', from: path.join(dir, 'src') },
        env: { file: path.join(dir, '.env') },
        snapshot: { database: { urlEnv: 'DATABASE_URL', schemas } },
        rollback: { database: 'always' },
      }),
    );
    const loaded = loadManifestFile(file);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    return loaded.manifest;
  }
  const call = <T>(name: string, manifest: Manifest, deployId: string) =>
    harness.call<T>(name, [{ manifest, deployId }], { heartbeatTimeout: '10s', maximumAttempts: 2 });
  const schemasNow = async () =>
    (await queryColumn(url, "SELECT nspname FROM pg_namespace WHERE nspname IN ('audit', 'reports') ORDER BY 1")).map(
      String,
    );

  it('snapshots a database whose listed schema does not exist yet, and restoring it removes the schema again', async () => {
    const manifest = manifestWith(['audit']);
    const snapshot = await call<{ file: string }>('snapshotDatabase', manifest, '20251201T100000Z-first');
    expect(snapshot.file).toContain('financial-etl-20251201T100000Z-first');

    // the first deploy's migration creates the schema, then the deploy fails and rolls back
    await sql(url, 'CREATE SCHEMA audit; CREATE TABLE audit.sessoes_processamento (id int)');
    const restored = await call<string>('restoreDatabaseSnapshot', manifest, '20251201T100000Z-first');
    expect(restored).toMatch(/^restored the database from /);
    expect(await schemasNow()).toEqual([]);
  });

  it('snapshots the listed schemas that exist; restoring returns them and removes the ones created since', async () => {
    const manifest = manifestWith(['audit', 'reports']);
    await sql(
      url,
      "CREATE SCHEMA audit; CREATE TABLE audit.operacoes (status text); INSERT INTO audit.operacoes VALUES ('OK')",
    );
    await call('snapshotDatabase', manifest, '20251202T100000Z-second');

    await sql(
      url,
      "INSERT INTO audit.operacoes VALUES ('FAILED'); CREATE SCHEMA reports; CREATE TABLE reports.r (id int)",
    );
    await call('restoreDatabaseSnapshot', manifest, '20251202T100000Z-second');
    expect(await schemasNow()).toEqual(['audit']);
    expect(await queryColumn(url, 'SELECT status FROM audit.operacoes')).toEqual(['OK']);
  });
});
