import path from 'node:path';

/*
 * argv of the PostgreSQL client tools. The connection never appears here: host, port, user, password and
 * database travel in PG* environment variables (see pgEnvFromUrl), so no argv holds a secret. Only a
 * database NAME is passed, where a tool needs one to know it should connect at all.
 */

export type DumpFormat = 'custom' | 'directory' | 'plain';

const FORMAT_FLAG: Record<DumpFormat, string> = { custom: 'c', directory: 'd', plain: 'p' };

export function pgTool(tool: 'pg_dump' | 'pg_restore' | 'psql', binDir?: string): string {
  return binDir ? path.join(binDir, tool) : tool;
}

export interface PgDumpArgs {
  /** The output file (a folder for the directory format); none: the dump goes to stdout (custom, plain). */
  file?: string;
  format?: DumpFormat;
  /** Only these schemas (`-n`). */
  schemas?: string[];
  excludeSchemas?: string[];
  /** Parallel jobs; the directory format only. */
  jobs?: number;
  /** Compression level 0-9. */
  compress?: number;
  binDir?: string;
}

export function pgDumpArgv(args: PgDumpArgs): string[] {
  const format = args.format ?? 'custom';
  const jobs = args.jobs ?? 1;
  if (args.file === undefined && format === 'directory')
    throw new Error('pg_dump writes the directory format only into a folder: give it a file');
  if (jobs > 1 && format !== 'directory')
    throw new Error(
      `pg_dump runs parallel jobs only with the directory format: set format: directory, or jobs: 1 (got format ${format}, jobs ${jobs})`,
    );
  return [
    pgTool('pg_dump', args.binDir),
    '--no-password',
    '-F',
    FORMAT_FLAG[format],
    ...(args.file !== undefined ? ['-f', args.file] : []),
    ...(args.compress !== undefined ? ['-Z', String(args.compress)] : []),
    ...(jobs > 1 ? ['-j', String(jobs)] : []),
    // A plain dump is restored by psql, which cannot be told to drop first: the script drops for itself.
    ...(format === 'plain' ? ['--clean', '--if-exists'] : []),
    ...(args.schemas ?? []).flatMap((schema) => ['-n', schema]),
    ...(args.excludeSchemas ?? []).flatMap((schema) => ['--exclude-schema', schema]),
  ];
}

export interface PgRestoreArgs {
  file: string;
  /** The database to restore into (a name; the rest of the connection is in PG* variables). */
  dbname: string;
  /** Drop each object before recreating it (`--clean --if-exists`). */
  clean?: boolean;
  /** Parallel jobs; otherwise the restore is one transaction: all of it or nothing. */
  jobs?: number;
  /** Objects belong to the restoring user (a scratch copy), not to the dump's owners. */
  noOwner?: boolean;
  binDir?: string;
}

export function pgRestoreArgv(args: PgRestoreArgs): string[] {
  const jobs = args.jobs ?? 1;
  return [
    pgTool('pg_restore', args.binDir),
    '--no-password',
    '--exit-on-error',
    ...(jobs > 1 ? ['-j', String(jobs)] : ['--single-transaction']),
    ...(args.clean ? ['--clean', '--if-exists'] : []),
    ...(args.noOwner ? ['--no-owner', '--no-privileges'] : []),
    '-d',
    args.dbname,
    args.file,
  ];
}

/** The table of contents of a custom or directory dump: reading it checks the archive's structure. */
export function pgRestoreListArgv(file: string, binDir?: string): string[] {
  return [pgTool('pg_restore', binDir), '--list', file];
}

/** Reads every data block of a dump (decompressing it) and throws the SQL away: a full read. */
export function pgRestoreReadArgv(file: string, binDir?: string): string[] {
  return [pgTool('pg_restore', binDir), '-f', '/dev/null', file];
}

/**
 * A plain (SQL) dump is restored by psql, stopping at the first error, in one transaction; `before` runs
 * first in that same transaction (replaceSchemasSql).
 */
export function psqlRestoreArgv(args: { file: string; dbname: string; before?: string; binDir?: string }): string[] {
  return [
    pgTool('psql', args.binDir),
    '--no-password',
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '--single-transaction',
    '-d',
    args.dbname,
    ...(args.before ? ['-f', args.before] : []),
    '-f',
    args.file,
  ];
}

/** A custom or directory dump as the SQL script it would run (restored by psqlRestoreArgv). */
export function pgRestoreScriptArgv(args: {
  file: string;
  script: string;
  noOwner?: boolean;
  binDir?: string;
}): string[] {
  return [
    pgTool('pg_restore', args.binDir),
    ...(args.noOwner ? ['--no-owner', '--no-privileges'] : []),
    '-f',
    args.script,
    args.file,
  ];
}

/**
 * A pg_dump `-n` pattern as the anchored regular expression pg_dump matches schema names with (psql's
 * pattern rules): outside double quotes letters fold to lower case, `*` is `.*`, `?` is `.`, `$` is literal
 * and other regular-expression syntax stays; inside double quotes every character is literal (`""` is one `"`).
 */
export function schemaPatternRegex(pattern: string): string {
  let regex = '';
  let quoted = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '"') {
      if (quoted && pattern[i + 1] === '"') {
        regex += '"';
        i++;
      } else quoted = !quoted;
    } else if (quoted) regex += c.replace(/[\\^$.|?*+()[\]{}]/, '\\$&');
    else if (c === '*') regex += '.*';
    else if (c === '?') regex += '.';
    else if (c === '$') regex += '\\$';
    else regex += c.toLowerCase();
  }
  return `^(${regex})$`;
}

const DO_TAG = '$runbook_restore$';

function sqlLiteral(text: string): string {
  if (text.includes(DO_TAG)) throw new Error(`a schema name may not contain ${DO_TAG}`);
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * SQL that empties what a restore replaces, so the database ends exactly as dumped, objects created since
 * included (a migration's new table with a foreign key to a dumped one would make `--clean` fail): the
 * schemas the dump's `-n` patterns match (as pg_dump matches them), or every user schema but the excluded ones
 * when none is named, are dropped with what depends on them; `public` is recreated with its owner and privileges. Runs in the restore's transaction: all of it or nothing.
 */
export function replaceSchemasSql(schemas: readonly string[], excludeSchemas: readonly string[] = []): string {
  const matching = (patterns: readonly string[]) =>
    `nspname ~ ANY (ARRAY[${patterns.map((p) => sqlLiteral(schemaPatternRegex(p))).join(', ')}]::text[])`;
  const which =
    schemas.length > 0
      ? matching(schemas)
      : "nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'" +
        (excludeSchemas.length > 0 ? ` AND NOT ${matching(excludeSchemas)}` : '');
  return `DO ${DO_TAG}
DECLARE
  s record;
  owner text;
  acl aclitem[];
  g record;
BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE ${which} LOOP
    IF s.nspname = 'public' THEN
      SELECT pg_get_userbyid(nspowner), nspacl INTO owner, acl FROM pg_namespace WHERE nspname = 'public';
      DROP SCHEMA public CASCADE;
      CREATE SCHEMA public;
      EXECUTE format('ALTER SCHEMA public OWNER TO %I', owner);
      FOR g IN SELECT * FROM aclexplode(acl) LOOP
        EXECUTE format('GRANT %s ON SCHEMA public TO %s', g.privilege_type,
          CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
      END LOOP;
    ELSE
      EXECUTE format('DROP SCHEMA %I CASCADE', s.nspname);
    END IF;
  END LOOP;
END
${DO_TAG};
`;
}
