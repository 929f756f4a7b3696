import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
