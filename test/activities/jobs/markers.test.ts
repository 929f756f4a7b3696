import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jobDateMarker, pruneJobMarkers } from '../../../src/activities/jobs';

describe("a job run's done markers", () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(os.tmpdir(), 'job-markers-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const manifest = () => ({ root, strategy: 'releases' as const, app: 'etl', snapshot: { files: false, exclude: [] } });

  it('live in the state folder, by workflow id, run key, job and date', () => {
    expect(
      jobDateMarker(manifest(), { name: 'daily' }, { workflowId: 'job-etl/x', runKey: 'run-1' }, '2025-12-01'),
    ).toBe(path.join(root, '.runbook', 'jobs', 'job-etl_x', 'run-1', 'daily.2025-12-01.done'));
  });

  const mark = (workflowId: string, runKey: string, ageDays: number) => {
    const file = jobDateMarker(manifest(), { name: 'daily' }, { workflowId, runKey }, '2025-12-01');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '{}');
    const when = new Date(Date.now() - ageDays * 24 * 3_600_000);
    utimesSync(path.dirname(file), when, when);
    return file;
  };

  it('are pruned a month after a run last finished a date; newer runs keep theirs', async () => {
    const old = mark('job-a', 'r1', 40);
    const recent = mark('job-b', 'r2', 2);
    const oldOfB = mark('job-b', 'r0', 31);
    await pruneJobMarkers(manifest());
    expect(existsSync(path.dirname(path.dirname(old)))).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(path.dirname(oldOfB))).toBe(false);
  });

  it('are looked through at most once an hour: every look reads each kept run (a month of a job every minute is 43,200)', async () => {
    const hour = 3_600_000;
    await pruneJobMarkers(manifest());
    const old = mark('job-c', 'r1', 40);
    await pruneJobMarkers(manifest(), Date.now() + hour / 2);
    expect(existsSync(old)).toBe(true);
    await pruneJobMarkers(manifest(), Date.now() + hour + 1_000);
    expect(existsSync(old)).toBe(false);
  });
});
