/** argv for the system tools that do Runbook's bulk file work: GNU cp, GNU tar and Info-ZIP zip and unzip. */

/** The Debian package that installs a tool, where its name differs from the tool's. */
export function toolPackage(tool: string): string {
  return tool === 'cp' ? 'coreutils' : tool;
}

/**
 * Copies files and links, named relative to the working directory, to the same names under `to` (whose
 * folders exist): modes and times kept, links copied as links, whatever is at a destination removed first so
 * nothing is ever written through a link already there.
 */
export function copyIntoArgv(to: string, relatives: readonly string[]): string[] {
  return [
    'cp',
    '--no-dereference',
    '--preserve=mode,timestamps',
    '--parents',
    '--remove-destination',
    '--target-directory',
    to,
    '--',
    ...relatives,
  ];
}

/** Runs of `items` whose arguments add up to at most `maxBytes` each, far below the kernel's argv limit. */
export function argvBatches(items: readonly string[], maxBytes = 128 * 1024): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(item) + 1;
    if (batch.length > 0 && bytes + size > maxBytes) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * Extracts a gzipped tar into `dir`. GNU tar's defaults are part of the safety: it strips a leading `/` from
 * names and hard link targets, skips names with `..`, and creates a link that points upwards or to an
 * absolute path only at the end, so no later entry can be written through it. `--force-local`: a name with a
 * colon is a file, never a remote host.
 */
export function untarArgv(file: string, dir: string): string[] {
  return ['tar', '--extract', '--gzip', '--force-local', '--file', file, '--directory', dir];
}

/**
 * Extracts a zip into `dir`, replacing without asking (`-o`: nothing waits on a prompt), names as they were
 * archived (`-^`: a line break or other control character in a name is kept, as tar keeps it, not dropped).
 */
export function unzipArgv(file: string, dir: string): string[] {
  return ['unzip', '-q', '-o', '-^', file, '-d', dir];
}

/**
 * Packs into a gzipped tar `file` exactly the entries named on stdin (NUL-separated, relative to `dir`), each
 * as it is: a folder without its contents, a link as a link. `also` adds those named in the file `list`
 * (NUL-separated too), relative to another folder. Names are taken verbatim: one starting with `-` is a name.
 */
export function tarCreateArgv(file: string, dir: string, also?: { dir: string; list: string }): string[] {
  return [
    'tar',
    '--create',
    '--gzip',
    '--force-local',
    '--file',
    file,
    '--no-recursion',
    '--null',
    '--verbatim-files-from',
    '--directory',
    dir,
    '--files-from',
    '-',
    ...(also ? ['--directory', also.dir, '--files-from', also.list] : []),
  ];
}

/**
 * Packs the named entries (relative to the working directory) into the zip `file`, or adds them to it: each
 * as it is, a folder without its contents, a link as a link (`-y`); no wildcards (`-nw`); a name that cannot
 * be read fails the run (`-MM`). zip reads names from stdin one a line, so a name with a line break goes on
 * argv instead; `./` (which zip drops) keeps a name `-` from meaning stdin.
 */
export function zipCreateCommand(file: string, names: readonly string[]): { argv: string[]; input: string } {
  const odd = (name: string) => /[\r\n]/.test(name);
  return {
    argv: ['zip', '-q', '-nw', '-y', '-MM', file, '-@', '--', ...names.filter(odd).map((n) => `./${n}`)],
    input: names
      .filter((n) => !odd(n))
      .map((n) => `./${n}\n`)
      .join(''),
  };
}
