import {
  argvBatches,
  copyIntoArgv,
  tarCreateArgv,
  toolPackage,
  untarArgv,
  unzipArgv,
  zipCreateCommand,
} from '../../../src/activities/commands/files';

describe('file tool argv', () => {
  it('copies named files and links under a folder: modes and times kept, links as links, nothing written through', () => {
    expect(copyIntoArgv('/srv/app/releases/r1', ['app.py', '-odd name', 'lib/x.js'])).toEqual([
      'cp',
      '--no-dereference',
      '--preserve=mode,timestamps',
      '--parents',
      '--remove-destination',
      '--target-directory',
      '/srv/app/releases/r1',
      '--',
      'app.py',
      '-odd name',
      'lib/x.js',
    ]);
  });

  it('extracts with GNU tar (a name with a colon is a local file) and with unzip (never prompting)', () => {
    expect(untarArgv('/b/host:1.tar.gz', '/t/x.partial-1')).toEqual([
      'tar',
      '--extract',
      '--gzip',
      '--force-local',
      '--file',
      '/b/host:1.tar.gz',
      '--directory',
      '/t/x.partial-1',
    ]);
    expect(unzipArgv('/b/a.zip', '/t/x.partial-1')).toEqual([
      'unzip',
      '-q',
      '-o',
      '-^',
      '/b/a.zip',
      '-d',
      '/t/x.partial-1',
    ]);
  });

  it('packs a gzipped tar of exactly the NUL-separated names on stdin, verbatim, no recursion, plus a second list', () => {
    expect(tarCreateArgv('/b/host:1.tar.gz.partial-1/archive.tar.gz', '/')).toEqual([
      'tar',
      '--create',
      '--gzip',
      '--force-local',
      '--file',
      '/b/host:1.tar.gz.partial-1/archive.tar.gz',
      '--no-recursion',
      '--null',
      '--verbatim-files-from',
      '--directory',
      '/',
      '--files-from',
      '-',
    ]);
    expect(tarCreateArgv('/b/a.tar.gz', '/srv/app', { dir: '/b/s/links', list: '/b/s/links.list' })).toEqual([
      'tar',
      '--create',
      '--gzip',
      '--force-local',
      '--file',
      '/b/a.tar.gz',
      '--no-recursion',
      '--null',
      '--verbatim-files-from',
      '--directory',
      '/srv/app',
      '--files-from',
      '-',
      '--directory',
      '/b/s/links',
      '--files-from',
      '/b/s/links.list',
    ]);
  });

  it('packs a zip of exactly the names given: one a line on stdin, those with a line break on argv, each after ./', () => {
    expect(zipCreateCommand('/b/a.zip', ['app.py', '-', '-dash', ' lead', 'line\nbreak', 'cr\r', 'dir/ü *'])).toEqual({
      argv: ['zip', '-q', '-nw', '-y', '-MM', '/b/a.zip', '-@', '--', './line\nbreak', './cr\r'],
      input: './app.py\n./-\n./-dash\n./ lead\n./dir/ü *\n',
    });
    expect(zipCreateCommand('/b/a.zip', [])).toEqual({
      argv: ['zip', '-q', '-nw', '-y', '-MM', '/b/a.zip', '-@', '--'],
      input: '',
    });
  });

  it('splits names into batches of bounded argv size, keeping their order', () => {
    expect(argvBatches([], 10)).toEqual([]);
    expect(argvBatches(['aaaa', 'bbbb', 'cc', 'dddddddddddd', 'e'], 10)).toEqual([
      ['aaaa', 'bbbb'],
      ['cc'],
      ['dddddddddddd'],
      ['e'],
    ]);
    const names = Array.from({ length: 30_000 }, (_, i) => `pkg-${i % 100}/src/file-${i}.js`);
    const batches = argvBatches(names);
    expect(batches.flat()).toEqual(names);
    for (const batch of batches) expect(batch.reduce((n, s) => n + s.length + 1, 0)).toBeLessThanOrEqual(128 * 1024);
  });

  it('names the Debian package that installs a missing tool', () => {
    expect(['cp', 'tar', 'zip', 'unzip'].map(toolPackage)).toEqual(['coreutils', 'tar', 'zip', 'unzip']);
  });
});
