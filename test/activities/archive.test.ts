import { spawnSync } from 'node:child_process';
import { CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { ZipFile } from 'yazl';
import {
  createArchive,
  excluder,
  extractArchive,
  UnsafeArchiveError,
  verifyArchive,
  type ArchiveFormat,
} from '../../src/activities/archive';
import { progressDetails } from '../../src/activities/attempt';
import { sha256File } from '../../src/activities/checksum';
import { untarArgv, unzipArgv } from '../../src/activities/commands/files';
import { processesUnder } from '../support/kill-matrix';
import { waitFor } from '../support/postgres';
import { treeListing, writeTree } from '../support/trees';

const FORMATS: ArchiveFormat[] = ['tar.gz', 'zip'];

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'runbook-archive-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** An app folder like the Almareia guide's: code, a virtualenv, caches, logs, an empty folder, links. */
function makeAppFolder(): { root: string; payload: Buffer } {
  const root = path.join(work, 'almareia');
  const payload = randomBytes(256 * 1024);
  const files: Record<string, string | Buffer> = {
    'app.py': 'print("hello")\n',
    'templates/index.html': '<h1>Almareia</h1>\n',
    'static/img/logo.bin': payload,
    'venv/bin/activate': '# virtualenv\n',
    'venv/lib/site.py': 'x = 1\n',
    '__pycache__/app.cpython-312.pyc': 'bytecode',
    'templates/__pycache__/t.pyc': 'bytecode',
    'app.log': 'a log line\n',
    'logs/old.log': 'old\n',
    'logs/keep.txt': 'kept\n',
    'instance/uploads/photo.jpg': 'jpeg',
    'instance/config.py': 'DEBUG = False\n',
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
  mkdirSync(path.join(root, 'empty'));
  symlinkSync('static/img/logo.bin', path.join(root, 'logo-link'));
  symlinkSync(path.join(root, 'templates'), path.join(root, 'templates-abs'));
  symlinkSync('/etc/hostname', path.join(root, 'outside-link'));
  return { root, payload };
}

function tree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const name = `${prefix}${entry.name}`;
      if (entry.isSymbolicLink()) return [`${name} -> ${readlinkSync(path.join(dir, entry.name))}`];
      if (entry.isDirectory()) return [`${name}/`, ...tree(path.join(dir, entry.name), `${name}/`)];
      return [name];
    })
    .sort();
}

describe.each(FORMATS)('%s archives', (format) => {
  it('round-trips a folder with its excludes applied, links kept inside, links outside left out', async () => {
    const { root, payload } = makeAppFolder();
    const outFile = path.join(work, 'backups', `almareia.${format}`);
    const result = await createArchive({
      format,
      sources: [root],
      outFile,
      exclude: ['venv', '__pycache__/', '*.log', 'instance/uploads'],
    });

    expect(result.bytes).toBe(statSync(outFile).size);
    expect(statSync(outFile).mode & 0o777).toBe(0o600);
    expect(result.sha256).toBe(await sha256File(outFile));
    expect(result.skipped).toEqual([path.join(root, 'outside-link')]);
    expect(readdirSync(path.dirname(outFile))).toEqual([`almareia.${format}`]);

    const verified = await verifyArchive(outFile, format);
    expect(verified.entries).toBe(result.entries);
    expect(verified.bytes).toBeGreaterThanOrEqual(payload.length);

    const target = path.join(work, 'restored');
    const extracted = await extractArchive({ file: outFile, format, targetDir: target });
    expect(extracted.entries).toBe(result.entries);
    expect(tree(target)).toEqual([
      'almareia/',
      'almareia/app.py',
      'almareia/empty/',
      'almareia/instance/',
      'almareia/instance/config.py',
      'almareia/logo-link -> static/img/logo.bin',
      'almareia/logs/',
      'almareia/logs/keep.txt',
      'almareia/static/',
      'almareia/static/img/',
      'almareia/static/img/logo.bin',
      'almareia/templates-abs -> templates',
      'almareia/templates/',
      'almareia/templates/index.html',
    ]);
    expect(readFileSync(path.join(target, 'almareia/static/img/logo.bin')).equals(payload)).toBe(true);
    expect(readFileSync(path.join(target, 'almareia/logo-link')).equals(payload)).toBe(true);
  });

  it('names entries relative to baseDir when one is given', async () => {
    const { root } = makeAppFolder();
    const outFile = path.join(work, `snapshot.${format}`);
    await createArchive({
      format,
      sources: [root],
      baseDir: root,
      outFile,
      exclude: ['venv', 'static', '*-link', '*-abs'],
    });
    const target = path.join(work, 'in-place');
    await extractArchive({ file: outFile, format, targetDir: target });
    expect(readFileSync(path.join(target, 'app.py'), 'utf8')).toBe('print("hello")\n');
    expect(existsSync(path.join(target, 'venv'))).toBe(false);
  });

  it('detects a corrupted archive', async () => {
    const { root } = makeAppFolder();
    const outFile = path.join(work, `corrupt.${format}`);
    await createArchive({ format, sources: [root], outFile });
    const bytes = readFileSync(outFile);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] ^= 0xff;
    bytes[middle + 1] ^= 0xff;
    writeFileSync(outFile, bytes);
    await expect(verifyArchive(outFile, format)).rejects.toThrow(/not a readable/);
  });

  it('detects a truncated archive', async () => {
    const { root } = makeAppFolder();
    const outFile = path.join(work, `short.${format}`);
    await createArchive({ format, sources: [root], outFile });
    const bytes = readFileSync(outFile);
    writeFileSync(outFile, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(verifyArchive(outFile, format)).rejects.toThrow(/not a readable/);
  });

  it('round-trips odd names, modes, times, empty folders and links with zip/tar and extractArchive', async () => {
    const root = path.join(work, 'odd');
    const files: Array<[string, number]> = [
      [' leading space', 0o644],
      ['trailing space ', 0o644],
      ['ünïcødé/naïve café.txt', 0o644],
      ['line\nbreak', 0o644],
      ['carriage\rreturn', 0o644],
      ['-', 0o644],
      ['-dash/--odd name.txt', 0o644],
      ['@at', 0o644],
      ['*', 0o644],
      ['[ab]', 0o644],
      ['a', 0o644],
      ['b', 0o644],
      ['bin/run', 0o755],
      ['secret.env', 0o600],
      ['private/inner.txt', 0o640],
    ];
    for (const [name, mode] of files) {
      mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      writeFileSync(path.join(root, name), `content of ${JSON.stringify(name)}\n`, { mode });
      chmodSync(path.join(root, name), mode);
    }
    chmodSync(path.join(root, 'private'), 0o750);
    mkdirSync(path.join(root, 'empty'), { mode: 0o700 });
    mkdirSync(path.join(root, 'empty with space/ünï'), { recursive: true });
    symlinkSync('bin/run', path.join(root, 'link'));
    symlinkSync('ünïcødé', path.join(root, 'dir link'));
    symlinkSync('missing/file', path.join(root, 'dangling'));
    symlinkSync('line\nbreak', path.join(root, 'link\nto odd'));
    utimesSync(path.join(root, 'secret.env'), new Date('2020-01-02T03:04:05Z'), new Date('2021-02-03T04:05:06Z'));

    const outFile = path.join(work, `odd.${format}`);
    const result = await createArchive({ format, sources: [root], baseDir: root, outFile });
    expect(result.entries).toBe(treeListing(root).length);
    expect(result.skipped).toEqual([]);
    expect(result.sha256).toBe(await sha256File(outFile));
    expect(await verifyArchive(outFile, format)).toMatchObject({ entries: result.entries });

    const target = path.join(work, 'restored');
    await expect(extractArchive({ file: outFile, format, targetDir: target })).resolves.toEqual({
      entries: result.entries,
    });
    expect(treeListing(target)).toEqual(treeListing(root));
    expect(statSync(path.join(target, 'secret.env')).mtime.toISOString()).toBe('2021-02-03T04:05:06.000Z');
  });

  it('archives a folder with nothing in it', async () => {
    const root = path.join(work, 'bare');
    mkdirSync(root);
    const outFile = path.join(work, `bare.${format}`);
    const result = await createArchive({ format, sources: [root], baseDir: root, outFile });
    expect(result).toMatchObject({ entries: 0, bytes: statSync(outFile).size, sha256: await sha256File(outFile) });
    expect(readdirSync(work).sort()).toEqual(['bare', `bare.${format}`]);
  });

  it('stops the tool and leaves nothing under the final name or beside it when the attempt is cancelled', async () => {
    const root = path.join(work, 'big');
    writeTree(root, 20_000);
    // Incompressible data keeps the tool deflating for seconds, so the cancel lands while it runs even on an
    // idle machine (20,000 small files alone can be archived before it arrives).
    for (let i = 0; i < 8; i++) writeFileSync(path.join(root, `noise-${i}.bin`), randomBytes(12 * 2 ** 20));
    const outDir = path.join(work, 'out');
    const outFile = path.join(outDir, `big.${format}`);
    const env = new MockActivityEnvironment();
    const archiving = (env.run(() => createArchive({ format, sources: [root], outFile })) as Promise<unknown>).catch(
      (error: unknown) => error,
    );
    const tool = format === 'zip' ? 'zip' : 'tar';
    await waitFor(
      async () => expect(processesUnder(outDir).some((p) => p.split(' ').includes(tool))).toBe(true),
      60_000,
      5,
    );
    // Meanwhile the attempt's heartbeats report what the tool has written so far.
    await waitFor(async () => expect(progressDetails(env.context)?.bytes).toBeGreaterThan(0), 60_000, 5);
    env.cancel();
    expect(await archiving).toBeInstanceOf(CancelledFailure);
    await waitFor(async () => expect(processesUnder(outDir)).toEqual([]), 10_000, 50);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it("refuses an entry with '..' in its path and writes nothing", async () => {
    const file = path.join(work, `evil.${format}`);
    writeFileSync(file, await craft(format, [{ name: '../evil.txt', content: 'pwned' }]));
    const target = path.join(work, 'target');
    const attempt = extractArchive({ file, format, targetDir: target });
    await expect(attempt).rejects.toThrow(UnsafeArchiveError);
    await expect(extractArchive({ file, format, targetDir: target })).rejects.toThrow(
      /'\.\.\/evil\.txt' contains '\.\.'/,
    );
    expect(existsSync(path.join(work, 'evil.txt'))).toBe(false);
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
  });

  it('refuses an entry hidden after harmless ones, before writing any of them', async () => {
    const file = path.join(work, `late.${format}`);
    writeFileSync(
      file,
      await craft(format, [
        { name: 'ok.txt', content: 'fine' },
        { name: 'sub/../../late.txt', content: 'pwned' },
      ]),
    );
    const target = path.join(work, 'target');
    await expect(extractArchive({ file, format, targetDir: target })).rejects.toThrow(UnsafeArchiveError);
    expect(existsSync(path.join(work, 'late.txt'))).toBe(false);
    expect(existsSync(path.join(target, 'ok.txt'))).toBe(false);
  });

  it('refuses an absolute path', async () => {
    const file = path.join(work, `abs.${format}`);
    writeFileSync(file, await craft(format, [{ name: `${work}/abs.txt`, content: 'pwned' }]));
    await expect(extractArchive({ file, format, targetDir: path.join(work, 'target') })).rejects.toThrow(
      /absolute path/,
    );
    expect(existsSync(path.join(work, 'abs.txt'))).toBe(false);
  });

  it('refuses a link pointing outside the target, and an entry written through a link', async () => {
    const outside = path.join(work, 'outside');
    mkdirSync(outside);
    const target = path.join(work, 'target');

    const upward = path.join(work, `link-up.${format}`);
    writeFileSync(upward, await craft(format, [{ name: 'escape', link: '../outside' }]));
    await expect(extractArchive({ file: upward, format, targetDir: target })).rejects.toThrow(
      /is a link to '\.\.\/outside'/,
    );

    const absolute = path.join(work, `link-abs.${format}`);
    writeFileSync(absolute, await craft(format, [{ name: 'escape', link: outside }]));
    await expect(extractArchive({ file: absolute, format, targetDir: target })).rejects.toThrow(/outside/);

    const through = path.join(work, `link-through.${format}`);
    writeFileSync(
      through,
      await craft(format, [
        { name: 'dir', link: '.' },
        { name: 'dir/file.txt', content: 'x' },
      ]),
    );
    await expect(extractArchive({ file: through, format, targetDir: target })).rejects.toThrow(
      /beneath the link 'dir'/,
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  it("refuses a link that escapes through another of the archive's links (yy -> . and xx -> yy/..)", async () => {
    const target = path.join(work, 'target');
    const chained = path.join(work, `link-chained.${format}`);
    writeFileSync(
      chained,
      await craft(format, [
        { name: 'yy', link: '.' },
        { name: 'xx', link: 'yy/..' },
      ]),
    );
    await expect(extractArchive({ file: chained, format, targetDir: target })).rejects.toThrow(
      /'xx' is a link to 'yy\/\.\.', outside/,
    );
    expect(existsSync(path.join(target, 'xx'))).toBe(false);

    // static/img leads to assets, so two '..' after it climb above the target, though the text stays inside.
    const climbing = path.join(work, `link-climbing.${format}`);
    writeFileSync(
      climbing,
      await craft(format, [
        { name: 'static/img', link: '../assets' },
        { name: 'up', link: 'static/img/../../static' },
      ]),
    );
    await expect(extractArchive({ file: climbing, format, targetDir: target })).rejects.toThrow(/'up' is a link/);

    const inside = path.join(work, `link-inside.${format}`);
    writeFileSync(
      inside,
      await craft(format, [
        { name: 'static/img', link: '../assets' },
        { name: 'logo', link: 'static/img/../assets/logo.png' },
        { name: 'assets/logo.png', content: 'png' },
      ]),
    );
    await expect(extractArchive({ file: inside, format, targetDir: target })).resolves.toEqual({ entries: 3 });
  });

  it('never writes through a link of the archive: refused before extraction, and tar/unzip alone keep it inside', async () => {
    const outside = path.join(work, 'outside');
    mkdirSync(outside);
    const target = path.join(work, 'target');
    for (const link of [outside, '../outside']) {
      const file = path.join(work, `through.${format}`);
      writeFileSync(
        file,
        await craft(format, [
          { name: 'escape', link },
          { name: 'escape/pwned.txt', content: 'pwned' },
        ]),
      );
      await expect(extractArchive({ file, format, targetDir: target })).rejects.toThrow(UnsafeArchiveError);
      expect(readdirSync(work).sort()).toEqual(['outside', `through.${format}`]);

      // The same archive given to the very command extractArchive runs, with no check before it: the tool
      // creates such a link only after the other entries (a plain file until then), so the write through it
      // fails inside the folder.
      const unchecked = path.join(work, 'unchecked');
      mkdirSync(unchecked);
      const argv = format === 'zip' ? unzipArgv(file, unchecked) : untarArgv(file, unchecked);
      const result = spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' });
      expect(result.status).not.toBe(0);
      expect(readdirSync(outside)).toEqual([]);
      rmSync(unchecked, { recursive: true });
    }
  });

  it('extracts only into a missing or empty folder, and leaves nothing beside it when the tool fails', async () => {
    const { root } = makeAppFolder();
    const file = path.join(work, `app.${format}`);
    await createArchive({ format, sources: [root], outFile: file });
    const target = path.join(work, 'target');
    mkdirSync(target);
    await expect(extractArchive({ file, format, targetDir: target })).resolves.toMatchObject({});
    await expect(extractArchive({ file, format, targetDir: target })).rejects.toThrow(/is not empty/);

    // Every entry passes the check, but the tool cannot put a file beneath a file.
    const clash = path.join(work, `clash.${format}`);
    writeFileSync(
      clash,
      await craft(format, [
        { name: 'dir', content: 'a file' },
        { name: 'dir/file.txt', content: 'beneath it' },
      ]),
    );
    const second = path.join(work, 'second');
    await expect(extractArchive({ file: clash, format, targetDir: second })).rejects.toThrow(
      /extracting .* exited with status/,
    );
    expect(existsSync(second)).toBe(false);
    expect(readdirSync(work).filter((n) => n.startsWith('second'))).toEqual([]);
  });

  it('does not follow a link that already exists in the target folder', async () => {
    const outside = path.join(work, 'outside');
    mkdirSync(outside);
    const target = path.join(work, 'target');
    mkdirSync(target);
    symlinkSync(outside, path.join(target, 'data'));
    const file = path.join(work, `existing-link.${format}`);
    writeFileSync(file, await craft(format, [{ name: 'data/file.txt', content: 'x' }]));
    await expect(extractArchive({ file, format, targetDir: target })).rejects.toThrow();
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('createArchive without zip on the host', () => {
  it('fails at once, non-retryably, naming the package to install', () => {
    const { root } = makeAppFolder();
    const outFile = path.join(work, 'out', 'app.zip');
    // A process of its own, whose PATH lacks zip (a test's own PATH does not reach the tools Node spawns).
    const script = `require(${JSON.stringify(path.resolve(__dirname, '../../dist/activities/archive.js'))})
      .createArchive({ format: 'zip', sources: [${JSON.stringify(root)}], outFile: ${JSON.stringify(outFile)} })
      .then(() => console.log('{}'), (e) => console.log(JSON.stringify({ type: e.type, nonRetryable: e.nonRetryable, message: e.message })))`;
    const run = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, PATH: path.join(work, 'no-tools') },
      encoding: 'utf8',
    });
    expect(JSON.parse(run.stdout)).toEqual({
      type: 'MissingTool',
      nonRetryable: true,
      message: `archiving ${root} into ${outFile}: zip is not installed on this host; install it (Debian or Ubuntu: apt-get install zip) and run again`,
    });
    expect(readdirSync(path.join(work, 'out'))).toEqual([]);
  });
});

describe('excluder', () => {
  const excluded = excluder(['venv', '*.log', 'build/', 'instance/uploads', '**/node_modules']);
  it.each([
    ['venv', true, true],
    ['src/venv', true, true],
    ['app.log', false, true],
    ['logs/app.log', false, true],
    ['build', true, true],
    ['build', false, false],
    ['instance/uploads', true, true],
    ['other/instance/uploads', true, false],
    ['web/node_modules', true, true],
    ['app.py', false, false],
  ])('%s (dir: %s) excluded: %s', (relative, isDir, expected) => {
    expect(excluded(relative, isDir)).toBe(expected);
  });
});

type CraftedEntry = { name: string; content?: string; link?: string };

/** An archive with entries no well-behaved writer produces: built byte by byte. */
async function craft(format: ArchiveFormat, entries: CraftedEntry[]): Promise<Buffer> {
  return format === 'zip' ? craftZip(entries) : craftTarGz(entries);
}

function craftTarGz(entries: CraftedEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    const header = new Header({
      path: entry.name,
      mode: entry.link ? 0o777 : 0o644,
      size: entry.link ? 0 : content.length,
      mtime: new Date(0),
      type: entry.link ? 'SymbolicLink' : 'File',
      linkpath: entry.link,
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (!entry.link && content.length > 0) blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** yazl refuses unsafe names, so each entry gets a same-length placeholder replaced in the bytes afterwards. */
async function craftZip(entries: CraftedEntry[]): Promise<Buffer> {
  const zip = new ZipFile();
  const replacements: Array<[Buffer, Buffer]> = [];
  entries.forEach((entry, i) => {
    const placeholder = `${String(i).padStart(2, '0')}`
      .concat('x'.repeat(Math.max(entry.name.length - 2, 0)))
      .slice(0, entry.name.length);
    replacements.push([Buffer.from(placeholder), Buffer.from(entry.name)]);
    if (entry.link) zip.addBuffer(Buffer.from(entry.link), placeholder, { mode: 0o120777, compress: false });
    else zip.addBuffer(Buffer.from(entry.content ?? ''), placeholder, { compress: false });
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  for (const [from, to] of replacements) {
    for (let at = bytes.indexOf(from); at !== -1; at = bytes.indexOf(from, at + to.length)) {
      to.copy(bytes, at);
    }
  }
  return bytes;
}
