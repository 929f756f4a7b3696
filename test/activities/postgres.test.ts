import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createScratchDatabase,
  databaseExists,
  dropDatabase,
  dumpDatabase,
  listDump,
  parsePostgresUrl,
  pgEnvFromUrl,
  restoreDatabase,
  withDatabase,
} from '../../src/activities/postgres';
import { createDatabase, queryColumn, sql } from '../support/postgres';
import { uniqueName } from '../support/temporal';

describe('connection settings from a URL', () => {
  it('turns a URL into PG* variables, decoding the password', () => {
    expect(
      pgEnvFromUrl('postgresql://etl:p%40ss%3Aword@db.internal:6543/financeiro?sslmode=require&application_name=etl'),
    ).toEqual({
      PGHOST: 'db.internal',
      PGPORT: '6543',
      PGUSER: 'etl',
      PGPASSWORD: 'p@ss:word',
      PGDATABASE: 'financeiro',
      PGSSLMODE: 'require',
      PGAPPNAME: 'etl',
    });
  });

  it("accepts postgres:// and SQLAlchemy's postgresql+psycopg2://, and a socket folder as ?host=", () => {
    expect(pgEnvFromUrl('postgres://u@localhost/app')).toEqual({ PGHOST: 'localhost', PGUSER: 'u', PGDATABASE: 'app' });
    expect(pgEnvFromUrl('postgresql+psycopg2://u:pw@h:5432/app')).toEqual({
      PGHOST: 'h',
      PGPORT: '5432',
      PGUSER: 'u',
      PGPASSWORD: 'pw',
      PGDATABASE: 'app',
    });
    expect(pgEnvFromUrl('postgresql:///app?host=/var/run/postgresql')).toEqual({
      PGHOST: '/var/run/postgresql',
      PGDATABASE: 'app',
    });
  });

  it('refuses a URL without a database, never repeating the URL (it may hold a password)', () => {
    expect(() => parsePostgresUrl('postgresql://u:hunter22@h:5432')).toThrow(/names no database/);
    const error = (() => {
      try {
        parsePostgresUrl('mysql://u:hunter22@h/app', 'DATABASE_URL');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/DATABASE_URL is not a PostgreSQL URL/);
    expect(error?.message).not.toContain('hunter22');
  });

  it('points a URL at another database on the same server', () => {
    expect(withDatabase('postgresql://u:pw@h:5432/app?sslmode=require', 'app_scratch')).toBe(
      'postgresql://u:pw@h:5432/app_scratch?sslmode=require',
    );
  });
});

describe('pg_dump and pg_restore on a real PostgreSQL', () => {
  const serverUrl = process.env.RUNBOOK_TEST_PG_URL as string;
  const binDir = process.env.RUNBOOK_TEST_PG_BIN;
  let dbName: string;
  let url: string;
  let work: string;

  beforeAll(async () => {
    dbName = uniqueName('pgtools').replace(/-/g, '_');
    url = await createDatabase(serverUrl, dbName);
    await sql(
      url,
      `
      CREATE TABLE public.tasks (id int PRIMARY KEY, title text NOT NULL, done boolean NOT NULL);
      INSERT INTO public.tasks SELECT i, md5(i::text), i % 3 = 0 FROM generate_series(1, 5000) AS i;
      CREATE SCHEMA audit;
      CREATE TABLE audit.sessoes_processamento (id int PRIMARY KEY, started timestamptz NOT NULL, detail text);
      INSERT INTO audit.sessoes_processamento SELECT i, timestamptz '2025-01-01' + i * interval '1 minute', repeat(md5(i::text), 4) FROM generate_series(1, 3000) AS i;
    `,
    );
  });
  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'runbook-dumps-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));
  afterAll(async () => {
    await dropDatabase(serverUrl, dbName);
  });

  it('backs up, loses a table, restores with --clean --if-exists, and has the same rows again', async () => {
    const before = await fingerprint(url, 'public.tasks');
    const file = path.join(work, 'app.dump');
    const dump = await dumpDatabase({ url, file, format: 'custom', binDir });
    expect(dump.bytes).toBe(statSync(file).size);
    expect(dump.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(work)).toEqual(['app.dump']);
    expect((await listDump({ file, format: 'custom', binDir, full: true })).entries).toBeGreaterThan(4);

    await sql(url, 'DROP TABLE public.tasks');
    await sql(url, "UPDATE audit.sessoes_processamento SET detail = 'changed after the backup'");
    await restoreDatabase({ url, file, format: 'custom', clean: true, binDir });

    expect(await fingerprint(url, 'public.tasks')).toEqual(before);
    expect(
      await count(url, "SELECT count(*) FROM audit.sessoes_processamento WHERE detail = 'changed after the backup'"),
    ).toBe(0);
  });

  it('restores over objects created since the dump that depend on dumped ones (a migration run after it)', async () => {
    const before = await fingerprint(url, 'public.tasks');
    const file = path.join(work, 'before-migration.dump');
    await dumpDatabase({ url, file, format: 'custom', binDir });
    // what a migration after the snapshot does: a new table with a foreign key to a dumped one, a new schema
    await sql(url, 'CREATE TABLE public.task_notes (id serial PRIMARY KEY, task_id int REFERENCES public.tasks(id))');
    await sql(url, 'CREATE SCHEMA reports; CREATE VIEW reports.open_tasks AS SELECT * FROM public.tasks');
    await restoreDatabase({ url, file, format: 'custom', clean: true, binDir });

    expect(await fingerprint(url, 'public.tasks')).toEqual(before);
    expect(await count(url, "SELECT count(*) FROM pg_tables WHERE tablename = 'task_notes'")).toBe(0);
    expect(await count(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'reports'")).toBe(0);
    expect(await count(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'")).toBe(1);
  });

  it('keeps only the named schema in a schema-filtered dump', async () => {
    const file = path.join(work, 'audit.dump');
    await dumpDatabase({ url, file, format: 'custom', schemas: ['audit'], compress: 9, binDir });
    const scratch = `${dbName}_audit`;
    const scratchUrl = await createScratchDatabase(serverUrl, scratch);
    try {
      await restoreDatabase({ url: scratchUrl, file, format: 'custom', clean: false, noOwner: true, binDir });
      const tables = await rows(
        scratchUrl,
        "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
      );
      expect(tables).toEqual(['audit.sessoes_processamento']);
      expect(await fingerprint(scratchUrl, 'audit.sessoes_processamento')).toEqual(
        await fingerprint(url, 'audit.sessoes_processamento'),
      );
    } finally {
      await dropDatabase(serverUrl, scratch);
    }
  });

  it('restores a dump of schema patterns over what was created since in the schemas they match', async () => {
    const before = await fingerprint(url, 'audit.sessoes_processamento');
    const file = path.join(work, 'audit-pattern.dump');
    // pg_dump's own pattern rules: unquoted letters fold to lower case, * is a wildcard
    const schemas = ['Audi*'];
    await dumpDatabase({ url, file, format: 'custom', schemas, binDir });
    await sql(
      url,
      'CREATE TABLE audit.notas (id int PRIMARY KEY, sessao int REFERENCES audit.sessoes_processamento(id)); ' +
        "UPDATE audit.sessoes_processamento SET detail = 'changed after the backup'",
    );
    await restoreDatabase({ url, file, format: 'custom', clean: true, schemas, binDir });

    expect(await fingerprint(url, 'audit.sessoes_processamento')).toEqual(before);
    expect(await count(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'notas'")).toBe(
      0,
    );
    expect(await count(url, 'SELECT count(*) FROM public.tasks')).toBeGreaterThan(0);
  });

  it('dumps the directory format with parallel jobs and restores it', async () => {
    const file = path.join(work, 'db.dumpdir');
    const dump = await dumpDatabase({ url, file, format: 'directory', jobs: 2, binDir });
    expect(statSync(file).isDirectory()).toBe(true);
    expect(readdirSync(file)).toContain('toc.dat');
    expect(dump.bytes).toBeGreaterThan(0);
    const scratch = `${dbName}_dir`;
    const scratchUrl = await createScratchDatabase(serverUrl, scratch);
    try {
      await restoreDatabase({
        url: scratchUrl,
        file,
        format: 'directory',
        clean: false,
        noOwner: true,
        jobs: 2,
        binDir,
      });
      expect(await fingerprint(scratchUrl, 'public.tasks')).toEqual(await fingerprint(url, 'public.tasks'));
      expect(await fingerprint(scratchUrl, 'audit.sessoes_processamento')).toEqual(
        await fingerprint(url, 'audit.sessoes_processamento'),
      );
    } finally {
      await dropDatabase(serverUrl, scratch);
    }
    expect(await databaseExists(serverUrl, scratch)).toBe(false);
  });

  it('restores a plain dump with psql', async () => {
    const file = path.join(work, 'app.sql');
    await dumpDatabase({ url, file, format: 'plain', binDir });
    expect((await listDump({ file, format: 'plain' })).entries).toBeGreaterThan(0);
    await sql(url, 'DELETE FROM public.tasks WHERE id > 100');
    await restoreDatabase({ url, file, format: 'plain', clean: true, binDir });
    expect(await count(url, 'SELECT count(*) FROM public.tasks')).toBe(5000);
  });

  it('finds a corrupted or truncated dump unreadable', async () => {
    const file = path.join(work, 'app.dump');
    await dumpDatabase({ url, file, format: 'custom', binDir });
    const bytes = readFileSync(file);
    // Cut in the data: the table of contents still lists, only a full read notices.
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    expect((await listDump({ file, format: 'custom', binDir })).entries).toBeGreaterThan(0);
    await expect(listDump({ file, format: 'custom', binDir, full: true })).rejects.toThrow(
      /reading every block of app.dump \(pg_restore -f \/dev\/null\) exited with status 1/,
    );
    writeFileSync(file, bytes.subarray(0, 40));
    await expect(listDump({ file, format: 'custom', binDir })).rejects.toThrow(
      /pg_restore --list app.dump exited with status 1/,
    );

    const sqlFile = path.join(work, 'app.sql');
    await dumpDatabase({ url, file: sqlFile, format: 'plain', binDir });
    writeFileSync(sqlFile, readFileSync(sqlFile).subarray(0, 2000));
    await expect(listDump({ file: sqlFile, format: 'plain' })).rejects.toThrow(/truncated/);
  });

  it('leaves nothing under the final name when pg_dump fails, and never prints the password', async () => {
    const missing = new URL(url);
    missing.pathname = '/no_such_database';
    missing.password = 'hunter22-secret';
    const file = path.join(work, 'missing.dump');
    const error = await dumpDatabase({ url: missing.toString(), file, format: 'custom', binDir }).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toMatch(/pg_dump exited with status 1/);
    expect((error as Error).message).toContain('no_such_database');
    expect((error as Error).message).not.toContain('hunter22-secret');
    expect(readdirSync(work)).toEqual([]);
  });

  it("removes an earlier attempt's partial output before dumping again", async () => {
    const file = path.join(work, 'app.dump');
    writeFileSync(`${file}.partial-deadbeef`, 'half a dump from a crashed worker');
    await dumpDatabase({ url, file, format: 'custom', binDir });
    expect(readdirSync(work)).toEqual(['app.dump']);
  });
});

async function rows(url: string, text: string): Promise<string[]> {
  return (await queryColumn(url, text)).map(String);
}

async function count(url: string, text: string): Promise<number> {
  return Number((await rows(url, text))[0]);
}

/** Row count and a hash of every row in key order: equal fingerprints mean equal contents. */
async function fingerprint(url: string, table: string): Promise<{ rows: number; md5: string }> {
  const [result] = await rows(
    url,
    `SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY id)) FROM ${table} t`,
  );
  const [n, md5] = result.split(':');
  return { rows: Number(n), md5 };
}
