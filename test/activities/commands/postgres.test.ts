import {
  pgDumpArgv,
  pgRestoreArgv,
  pgRestoreListArgv,
  pgRestoreReadArgv,
  pgRestoreScriptArgv,
  psqlRestoreArgv,
  replaceSchemasSql,
  schemaPatternRegex,
} from '../../../src/activities/commands/postgres';

describe('pg_dump argv', () => {
  it('writes the custom format by default', () => {
    expect(pgDumpArgv({ file: '/b/app.dump' })).toEqual(['pg_dump', '--no-password', '-F', 'c', '-f', '/b/app.dump']);
  });

  it('streams the custom and plain formats to stdout when no file is named, so they are hashed as they are written', () => {
    expect(pgDumpArgv({ format: 'custom', compress: 0 })).toEqual(['pg_dump', '--no-password', '-F', 'c', '-Z', '0']);
    expect(pgDumpArgv({ format: 'plain' })).toEqual(['pg_dump', '--no-password', '-F', 'p', '--clean', '--if-exists']);
    expect(() => pgDumpArgv({ format: 'directory' })).toThrow(/directory format only into a folder/);
  });

  it('keeps only the named schemas and leaves out excluded ones (Financial ETL: pg_dump -n audit -F c)', () => {
    expect(
      pgDumpArgv({ file: '/b/audit.dump', format: 'custom', schemas: ['audit', 'staging'], excludeSchemas: ['tmp'] }),
    ).toEqual([
      'pg_dump',
      '--no-password',
      '-F',
      'c',
      '-f',
      '/b/audit.dump',
      '-n',
      'audit',
      '-n',
      'staging',
      '--exclude-schema',
      'tmp',
    ]);
  });

  it('dumps the directory format with parallel jobs', () => {
    expect(pgDumpArgv({ file: '/b/db.dumpdir', format: 'directory', jobs: 4 })).toEqual([
      'pg_dump',
      '--no-password',
      '-F',
      'd',
      '-f',
      '/b/db.dumpdir',
      '-j',
      '4',
    ]);
  });

  it('sets the compression level, and the tools folder when given', () => {
    expect(pgDumpArgv({ file: '/b/x.dump', compress: 6, binDir: '/usr/lib/postgresql/16/bin' })).toEqual([
      '/usr/lib/postgresql/16/bin/pg_dump',
      '--no-password',
      '-F',
      'c',
      '-f',
      '/b/x.dump',
      '-Z',
      '6',
    ]);
    expect(pgDumpArgv({ file: '/b/x.dump', compress: 0 })).toEqual([
      'pg_dump',
      '--no-password',
      '-F',
      'c',
      '-f',
      '/b/x.dump',
      '-Z',
      '0',
    ]);
  });

  it('writes a plain dump that drops objects before creating them', () => {
    expect(pgDumpArgv({ file: '/b/x.sql', format: 'plain' })).toEqual([
      'pg_dump',
      '--no-password',
      '-F',
      'p',
      '-f',
      '/b/x.sql',
      '--clean',
      '--if-exists',
    ]);
  });

  it('refuses parallel jobs outside the directory format, saying how to fix it', () => {
    expect(() => pgDumpArgv({ file: '/b/x.dump', format: 'custom', jobs: 2 })).toThrow(
      /set format: directory, or jobs: 1/,
    );
  });
});

describe('pg_restore argv', () => {
  it('reads every block of a dump, throwing the SQL away', () => {
    expect(pgRestoreReadArgv('/b/x.dump')).toEqual(['pg_restore', '-f', '/dev/null', '/b/x.dump']);
  });

  it('lists a dump', () => {
    expect(pgRestoreListArgv('/b/x.dump')).toEqual(['pg_restore', '--list', '/b/x.dump']);
    expect(pgRestoreListArgv('/b/x.dump', '/pg/bin')).toEqual(['/pg/bin/pg_restore', '--list', '/b/x.dump']);
  });

  it('restores over existing objects in one transaction with --clean --if-exists', () => {
    expect(pgRestoreArgv({ file: '/b/x.dump', dbname: 'orquetask', clean: true })).toEqual([
      'pg_restore',
      '--no-password',
      '--exit-on-error',
      '--single-transaction',
      '--clean',
      '--if-exists',
      '-d',
      'orquetask',
      '/b/x.dump',
    ]);
  });

  it('restores a scratch copy owned by the restoring user, in parallel when asked', () => {
    expect(pgRestoreArgv({ file: '/b/db.dumpdir', dbname: 'scratch', noOwner: true, jobs: 3 })).toEqual([
      'pg_restore',
      '--no-password',
      '--exit-on-error',
      '-j',
      '3',
      '--no-owner',
      '--no-privileges',
      '-d',
      'scratch',
      '/b/db.dumpdir',
    ]);
  });

  it('restores a plain dump with psql, stopping at the first error', () => {
    expect(psqlRestoreArgv({ file: '/b/x.sql', dbname: 'app' })).toEqual([
      'psql',
      '--no-password',
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '--single-transaction',
      '-d',
      'app',
      '-f',
      '/b/x.sql',
    ]);
  });

  it('replaces: the dump as a script, run after the schema replacement in one psql transaction', () => {
    expect(pgRestoreScriptArgv({ file: '/b/db.dump', script: '/b/db.dump.restore.sql', binDir: '/pg/bin' })).toEqual([
      '/pg/bin/pg_restore',
      '-f',
      '/b/db.dump.restore.sql',
      '/b/db.dump',
    ]);
    expect(psqlRestoreArgv({ file: '/b/s.sql', before: '/b/r.sql', dbname: 'app' })).toEqual([
      'psql',
      '--no-password',
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '--single-transaction',
      '-d',
      'app',
      '-f',
      '/b/r.sql',
      '-f',
      '/b/s.sql',
    ]);
  });

  it('drops the dumped schemas, or every user schema but the excluded ones, keeping public with its grants', () => {
    expect(replaceSchemasSql(['Audit', "o'brien", 'tenant_*'])).toContain(
      "nspname ~ ANY (ARRAY['^(audit)$', '^(o''brien)$', '^(tenant_.*)$']::text[])",
    );
    const whole = replaceSchemasSql([], ['byd']);
    expect(whole).toContain("nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'");
    expect(whole).toContain("AND NOT nspname ~ ANY (ARRAY['^(byd)$']::text[])");
    expect(whole).toContain('CREATE SCHEMA public;');
    // a name cannot end the DO block's dollar quote: $ reaches the SQL only escaped, as \\$
    expect(replaceSchemasSql(['x$runbook_restore$']).split('$runbook_restore$')).toHaveLength(3);
  });
});

describe('pg_dump -n patterns as the regular expressions pg_dump matches with', () => {
  it('folds unquoted letters, turns * and ? into .* and ., keeps $ and quoted text literal', () => {
    expect(schemaPatternRegex('audit')).toBe('^(audit)$');
    expect(schemaPatternRegex('Audit')).toBe('^(audit)$');
    expect(schemaPatternRegex('tenant_*')).toBe('^(tenant_.*)$');
    expect(schemaPatternRegex('v?')).toBe('^(v.)$');
    expect(schemaPatternRegex('a$b')).toBe('^(a\\$b)$');
    expect(schemaPatternRegex('"My.Schema*"')).toBe('^(My\\.Schema\\*)$');
    expect(schemaPatternRegex('"say ""hi"""')).toBe('^(say "hi")$');
  });
});
