import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scanLog } from '../../src/activities/log-scan';

describe('reading a log for denied lines', () => {
  let dir: string;
  let log: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-log-scan-'));
    log = path.join(dir, 'app.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a line across the chunks it is read in, and says where a clean look ended', async () => {
    // A line that straddles the first 1 MiB chunk's end.
    const filler = 'x'.repeat(1024 * 1024 - 10);
    writeFileSync(log, `${filler}\nERROR: disk full on /srv\nok\n`);
    expect(await scanLog(log, 0, ['ImportError', 'disk full'])).toEqual({
      found: { pattern: 'disk full', line: 'ERROR: disk full on /srv' },
      checkedTo: filler.length + 1,
    });
    expect(await scanLog(log, filler.length + 26, ['disk full'])).toEqual({ checkedTo: filler.length + 29 });
  });

  it('reads a line still being written again next time, but names it at once if it already holds a pattern', async () => {
    writeFileSync(log, 'started\nTrace');
    expect(await scanLog(log, 0, ['Traceback'])).toEqual({ checkedTo: 8 });
    appendFileSync(log, 'back (most recent call last)');
    expect(await scanLog(log, 8, ['Traceback'])).toEqual({
      found: { pattern: 'Traceback', line: 'Traceback (most recent call last)' },
      checkedTo: 8,
    });
  });

  it('judges a line longer than it holds in pieces that overlap, so a pattern across two is found', async () => {
    const long = `${'y'.repeat(3 * 1024 * 1024 - 4)}Traceback${'z'.repeat(1024 * 1024)}\n`;
    writeFileSync(log, long);
    const scan = await scanLog(log, 0, ['Traceback']);
    expect(scan.found?.pattern).toBe('Traceback');
    expect(scan.found?.line).toContain('Traceback');
    expect(scan.found!.line.length).toBeLessThan(long.length);
  });

  it('compares bytes as written, whatever surrounds the pattern', async () => {
    writeFileSync(log, Buffer.concat([Buffer.from('ação '), Buffer.from([0xff, 0xfe]), Buffer.from(' Traceback\n')]));
    expect((await scanLog(log, 0, ['Traceback'])).found?.pattern).toBe('Traceback');
  });
});
