import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../src/activities';
import { appPaths } from '../../src/common/names';
import { recordActivities } from '../../src/activities/records';
import { parseManifest } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { deployReport } from './notify/reports';
import { BEYOND_ONE_STRING, bytesRead, readWholeDeployLog, writeLongDeployLog } from '../support/deploy-log';

describe('the deploy log', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-records-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const manifestOf = (strategy: 'releases' | 'in-place'): Manifest => {
    const parsed = parseManifest(
      `app: shop\nhost: h\nroot: ${dir}/srv/shop\nstrategy: ${strategy}\nsource: { type: copy, from: ${dir}/staging }\n`,
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.manifest;
  };
  const record = (manifest: Manifest, runId: string) =>
    new MockActivityEnvironment().run(() =>
      recordActivities(activityConfigFromEnv()).recordRun({ manifest, report: deployReport('succeeded', { runId }) }),
    ) as Promise<string>;

  it('skips a line that is not a record, says so, and keeps recording every later run once', async () => {
    const manifest = manifestOf('releases');
    const file = appPaths(manifest).deployLog;
    mkdirSync(path.dirname(file), { recursive: true });
    expect(await record(manifest, 'run-1')).toBe(`recorded in ${file}`);
    const cutAt = statSync(file).size;
    appendFileSync(file, '{"at": "2026-01-08T10:0'); // a line cut short by a full disk
    const second = await record(manifest, 'run-2');
    expect(second).toContain(`recorded in ${file}; skipped 1 line(s) that are not records: ${file} at byte ${cutAt}:`);
    expect(await record(manifest, 'run-2')).toBe(`already recorded in ${file}`);
    expect(await record(manifest, 'run-3')).toContain('recorded in');
    const read = await readWholeDeployLog(file);
    expect(read.lines.map((l) => l.runId)).toEqual(['run-1', 'run-2', 'run-3']);
    expect(read.skipped).toHaveLength(1);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(4);
  });

  it("finds a retried run's own line behind the lines of runs recorded after it", async () => {
    const manifest = manifestOf('releases');
    const file = appPaths(manifest).deployLog;
    for (const runId of ['run-a', 'run-b', 'run-c']) expect(await record(manifest, runId)).toBe(`recorded in ${file}`);
    expect(await record(manifest, 'run-a')).toBe(`already recorded in ${file}`);
    expect((await readWholeDeployLog(file)).lines.map((l) => l.runId)).toEqual(['run-a', 'run-b', 'run-c']);
  });

  it('a retry right after logrotate moved the log finds its own line in the copy and records nothing twice', async () => {
    const manifest = manifestOf('releases');
    const file = appPaths(manifest).deployLog;
    mkdirSync(path.dirname(file), { recursive: true });
    expect(await record(manifest, 'run-1')).toBe(`recorded in ${file}`);
    renameSync(file, `${file}.1`);
    expect(await record(manifest, 'run-1')).toBe(`already recorded in ${file}`);
    expect(existsSync(file)).toBe(false);
  });

  it('does not read copies last written before the run ended: none holds a line of it', async () => {
    const manifest = manifestOf('releases');
    const file = appPaths(manifest).deployLog;
    mkdirSync(path.dirname(file), { recursive: true });
    // Not gzip at all: read, it would be named as a part of the log that is no record.
    writeFileSync(`${file}.2.gz`, 'not gzip');
    utimesSync(`${file}.2.gz`, new Date('2025-06-01T00:00:00Z'), new Date('2025-06-01T00:00:00Z'));
    expect(await record(manifest, 'run-1')).toBe(`recorded in ${file}`);
  });

  it('in place, lives beside the live folder (so restoring its archive never rewinds it), moving a former log out', async () => {
    const manifest = manifestOf('in-place');
    mkdirSync(manifest.root, { recursive: true });
    const former = path.join(manifest.root, 'deploy_log.jsonl');
    writeFileSync(former, `${JSON.stringify({ ...deployReport('succeeded', { runId: 'old' }), steps: [] })}\n`);
    await record(manifest, 'run-1');
    const file = appPaths(manifest).deployLog;
    expect(file).toBe(`${manifest.root}.runbook/deploy_log.jsonl`);
    expect(existsSync(former)).toBe(false);
    expect((await readWholeDeployLog(file)).lines.map((l) => l.runId)).toEqual(['old', 'run-1']);
  });

  it('records a run after years of earlier ones (more than one string holds) by reading only the end of the log', async () => {
    const manifest = manifestOf('releases');
    const file = appPaths(manifest).deployLog;
    writeLongDeployLog(file, { bytes: BEYOND_ONE_STRING, app: 'shop' });
    const before = bytesRead();
    expect(await record(manifest, 'run-after-years')).toBe(`recorded in ${file}`);
    expect(await record(manifest, 'run-after-years')).toBe(`already recorded in ${file}`);
    expect(bytesRead() - before).toBeLessThan(16 * 1024 * 1024);
    const size = statSync(file).size;
    const end = Buffer.alloc(64 * 1024);
    const fd = openSync(file, 'r');
    readSync(fd, end, 0, end.length, size - end.length);
    closeSync(fd);
    const lines = end.toString('utf8').trimEnd().split('\n');
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ runId: 'run-after-years', kind: 'deploy' });
    expect(lines.filter((l) => l.includes('"run-after-years"'))).toHaveLength(1);
  });
});
