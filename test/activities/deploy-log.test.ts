import { appendFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { appendDeployLogLine, scanDeployLog, type DeployLogLine } from '../../src/activities/deploy-log';

const record = (runId: string, extra: Partial<DeployLogLine> = {}): DeployLogLine => ({
  at: '2026-01-08T10:00:00.000Z',
  kind: 'job',
  app: 'flowlog',
  outcome: 'succeeded',
  summary: `run ${runId}`,
  workflowId: `job-${runId}`,
  runId,
  steps: [],
  ...extra,
});

describe('the deploy log file', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-deploy-log-'));
    file = path.join(dir, 'deploy_log.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const newestFirst = async (options?: { mentioning?: string }) => {
    const ids: string[] = [];
    const { skipped } = await scanDeployLog(file, (line) => void ids.push(line.runId), options);
    return { ids, skipped };
  };

  it('reads every record newest first, whole, whatever the lengths of lines around its chunks', async () => {
    // Lines from a few bytes to ~300 KB, so that line breaks fall everywhere relative to the 1 MiB chunks.
    const lines = Array.from({ length: 400 }, (_, i) =>
      record(`run-${i}`, { summary: 'x'.repeat((i * 7919) % 300_000) }),
    );
    writeFileSync(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const { ids, skipped } = await newestFirst();
    expect(ids).toEqual(lines.map((l) => l.runId).reverse());
    expect(skipped).toEqual([]);
  });

  it('names a line that is not a record by where it starts, and reads on past it', async () => {
    const first = `${JSON.stringify(record('run-1'))}\n`;
    writeFileSync(
      file,
      `${first}not json\n\n${JSON.stringify({ at: 'no run id' })}\n${JSON.stringify(record('run-2'))}\n`,
    );
    const { ids, skipped } = await newestFirst();
    expect(ids).toEqual(['run-2', 'run-1']);
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatch(new RegExp(`^${file} at byte ${first.length + 10}: not a run record$`));
    expect(skipped[1]).toMatch(new RegExp(`^${file} at byte ${first.length}: `));
  });

  it('skips a line longer than any record without holding it whole', async () => {
    const huge = 'y'.repeat(20 * 1024 * 1024);
    writeFileSync(file, `${JSON.stringify(record('run-1'))}\n${huge}\n${JSON.stringify(record('run-2'))}\n`);
    const { ids, skipped } = await newestFirst();
    expect(ids).toEqual(['run-2', 'run-1']);
    expect(skipped).toEqual([
      `${file} at byte ${JSON.stringify(record('run-1')).length + 1}: longer than 16777216 bytes`,
    ]);
  });

  it('stops where the reader says it has what it needs', async () => {
    writeFileSync(file, ['a', 'b', 'c', 'd'].map((id) => `${JSON.stringify(record(id))}\n`).join(''));
    const seen: string[] = [];
    await scanDeployLog(file, (line) => {
      seen.push(line.runId);
      return line.runId === 'c';
    });
    expect(seen).toEqual(['d', 'c']);
  });

  it('with `mentioning`, passes over the lines without that text', async () => {
    const lines = [record('a'), record('b', { kind: 'deploy', release: 'r-1' }), record('c')];
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\nnot json\n`);
    expect(await newestFirst({ mentioning: '"release":' })).toEqual({ ids: ['b'], skipped: [] });
  });

  it('reads an absent log as empty', async () => {
    expect(await newestFirst()).toEqual({ ids: [], skipped: [] });
  });

  const linesOf = (...ids: string[]) => ids.map((id) => `${JSON.stringify(record(id))}\n`).join('');
  // What logrotate leaves beside the log, oldest first: copies numbered or dated, the older ones compressed.
  const rotated = (copies: Array<[string, string]>) => {
    const oldest = Date.parse('2026-09-01T00:00:00Z') / 1000;
    copies.forEach(([name, text], i) => {
      const copy = path.join(dir, name);
      writeFileSync(copy, name.endsWith('.gz') ? gzipSync(text) : text);
      utimesSync(copy, oldest + i * 86_400, oldest + i * 86_400);
    });
  };

  it('reads on into the copies logrotate made of it, newest first: numbered, the older ones compressed', async () => {
    rotated([
      ['deploy_log.jsonl.3.gz', linesOf('a', 'b')],
      ['deploy_log.jsonl.2.gz', linesOf('c')],
      ['deploy_log.jsonl.1', linesOf('d', 'e')],
      ['deploy_log.jsonl', linesOf('f')],
    ]);
    writeFileSync(path.join(dir, 'deploy_log.jsonl.bak'), linesOf('not-a-copy'));
    writeFileSync(path.join(dir, 'deploy_log.jsonl.1.tmp-7-ab12.tmp'), linesOf('half-written'));
    expect(await newestFirst()).toEqual({ ids: ['f', 'e', 'd', 'c', 'b', 'a'], skipped: [] });
  });

  it('reads on into dated copies, and names a line that is not a record in a compressed one by its line', async () => {
    rotated([
      ['deploy_log.jsonl-20261001.gz', `${linesOf('a')}not json\n${linesOf('a2')}`],
      ['deploy_log.jsonl-20261101', linesOf('b')],
      ['deploy_log.jsonl', linesOf('c')],
    ]);
    const copy = path.join(dir, 'deploy_log.jsonl-20261001.gz');
    const { ids, skipped } = await newestFirst();
    expect(ids).toEqual(['c', 'b', 'a2', 'a']);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(new RegExp(`^${copy} at line 2: `));
  });

  it('reads the lines of a compressed copy cut short before the cut, and names the cut', async () => {
    const text = ['a', 'b', 'c'].map((id) => `${JSON.stringify(record(id, { summary: 'z'.repeat(4000) }))}\n`).join('');
    const whole = gzipSync(text);
    writeFileSync(path.join(dir, 'deploy_log.jsonl.1.gz'), whole.subarray(0, whole.length - 20));
    const { ids, skipped } = await newestFirst();
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).toEqual(['a', 'b', 'c'].slice(0, ids.length).reverse());
    expect(skipped).toEqual([expect.stringMatching(/deploy_log\.jsonl\.1\.gz after line \d: unexpected end of file$/)]);
  });

  it('with the log rotated away, reads its copies; with `mentioning`, only their lines holding the text', async () => {
    rotated([
      ['deploy_log.jsonl.2.gz', linesOf('a')],
      ['deploy_log.jsonl.1', linesOf('b')],
    ]);
    expect(await newestFirst()).toEqual({ ids: ['b', 'a'], skipped: [] });
    expect(await newestFirst({ mentioning: '"runId":"a"' })).toEqual({ ids: ['a'], skipped: [] });
  });

  it('appends whole records, ending a last line a crash cut short first', async () => {
    await appendDeployLogLine(path.join(dir, 'new', 'deploy_log.jsonl'), record('run-0'));
    expect(readFileSync(path.join(dir, 'new', 'deploy_log.jsonl'), 'utf8')).toBe(
      `${JSON.stringify(record('run-0'))}\n`,
    );
    writeFileSync(file, `${JSON.stringify(record('run-1'))}\n`);
    appendFileSync(file, '{"at": "2026-01-0');
    await appendDeployLogLine(file, record('run-2'));
    const { ids, skipped } = await newestFirst();
    expect(ids).toEqual(['run-2', 'run-1']);
    expect(skipped).toHaveLength(1);
    expect(readFileSync(file, 'utf8').endsWith(`"2026-01-0\n${JSON.stringify(record('run-2'))}\n`)).toBe(true);
  });
});
