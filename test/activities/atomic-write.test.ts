import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fsyncFile, writeFileAtomic } from '../../src/activities/atomic-write';

describe('writing a small file atomically', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the folder, replaces the file whole and leaves no temporary behind', async () => {
    const file = path.join(dir, 'deploys', 'r1', 'steps', 'install-0.done');
    await writeFileAtomic(file, '{"exitCode":0}');
    await writeFileAtomic(file, '{"exitCode":0,"reused":false}', 0o640);
    expect(readFileSync(file, 'utf8')).toBe('{"exitCode":0,"reused":false}');
    expect(readdirSync(path.dirname(file))).toEqual(['install-0.done']);
  });

  it('writes a record that need not outlast the machine (no flush) as whole and as private', async () => {
    const file = path.join(dir, 'leases', 'app', 'install-0.json');
    await writeFileAtomic(file, '{"attempt":"w-1-2.1"}', 0o600, { durable: false });
    await writeFileAtomic(file, '{"attempt":"w-1-2.2"}', 0o600, { durable: false });
    expect(readFileSync(file, 'utf8')).toBe('{"attempt":"w-1-2.2"}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(path.dirname(file))).toEqual(['install-0.json']);
  });

  it("leaves the worker's event loop free while it flushes to disk", async () => {
    let turned = false;
    setImmediate(() => (turned = true));
    const written = writeFileAtomic(path.join(dir, 'deploys', 'r1', 'steps', 'install-0.done'), '{"exitCode":0}');
    expect(turned).toBe(false);
    await written;
    expect(turned).toBe(true);
  });

  it('keeps the mode it is given for a new file', async () => {
    const file = path.join(dir, 'catalogue.json');
    await writeFileAtomic(file, '{}', 0o640);
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  it('leaves the old content and no temporary when the write fails', async () => {
    const file = path.join(dir, 'pid.json');
    writeFileSync(file, 'old');
    // A folder where the file's temporary would go cannot be opened for writing: simulate with a file as parent.
    await expect(writeFileAtomic(path.join(file, 'child'), 'new')).rejects.toThrow();
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['pid.json']);
  });

  it('replaces a symlink planted at the file instead of writing through it', async () => {
    const outside = path.join(dir, 'outside.txt');
    writeFileSync(outside, 'not yours');
    const file = path.join(dir, 'lease.json');
    symlinkSync(outside, file);
    await writeFileAtomic(file, '{"attempt":1}', 0o600);
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('{"attempt":1}');
    expect(readFileSync(outside, 'utf8')).toBe('not yours');
    expect(readdirSync(dir).sort()).toEqual(['lease.json', 'outside.txt']);
  });

  it('flushes a streamed file and refuses a missing one', async () => {
    const file = path.join(dir, 'dump.custom');
    writeFileSync(file, 'dump');
    await expect(fsyncFile(file)).resolves.toBeUndefined();
    await expect(fsyncFile(path.join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});
