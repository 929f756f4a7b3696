import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
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
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { copyTree, runTool } from '../../src/activities/files';
import { processesUnder } from '../support/kill-matrix';
import { waitFor } from '../support/postgres';
import { treeListing, writeTree } from '../support/trees';

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'runbook-files-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const write = (file: string, content: string, mode = 0o644) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content, { mode });
};

/** A release-like source: code, an executable, a private file, an empty folder, links inside, out and dangling. */
function makeSource(): string {
  const from = path.join(work, 'from');
  write(path.join(from, 'app.py'), 'print(1)\n');
  write(path.join(from, 'bin/run'), '#!/bin/sh\n', 0o755);
  write(path.join(from, 'secret.env'), 'KEY=1\n', 0o600);
  write(path.join(from, 'venv/lib/site.py'), 'x\n');
  write(path.join(from, 'logs/app.log'), 'log\n');
  write(path.join(from, '-dash/--odd name.txt'), 'odd\n');
  mkdirSync(path.join(from, 'empty'), { mode: 0o700 });
  symlinkSync('app.py', path.join(from, 'link'));
  symlinkSync('/etc/hostname', path.join(from, 'absolute-link'));
  symlinkSync('missing/file', path.join(from, 'dangling'));
  utimesSync(path.join(from, 'app.py'), new Date('2020-01-02T03:04:05Z'), new Date('2021-02-03T04:05:06Z'));
  spawnSync('mkfifo', [path.join(from, 'pipe')]);
  return from;
}

describe('copyTree', () => {
  it('copies folders, files with their modes and times, and links as they are (dangling too); not fifos', async () => {
    const from = makeSource();
    const to = path.join(work, 'to');
    const entries = await copyTree(from, to);
    expect(entries).toBe(readdirSync(from, { recursive: true }).length);
    expect(treeListing(to)).toEqual(treeListing(from, ['pipe'])); // a fifo is never read
    expect(existsSync(path.join(to, 'pipe'))).toBe(false);
    expect(statSync(path.join(to, 'app.py')).mtime.toISOString()).toBe('2021-02-03T04:05:06.000Z');
    expect(statSync(path.join(to, 'secret.env')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(to, 'bin/run')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(to, 'empty')).mode & 0o777).toBe(0o700);
    expect(readlinkSync(path.join(to, 'dangling'))).toBe('missing/file');
    expect(readlinkSync(path.join(to, 'absolute-link'))).toBe('/etc/hostname');
  });

  it('leaves out what skip names (a folder with all under it), asking with relative names', async () => {
    const from = makeSource();
    const to = path.join(work, 'to');
    const asked: string[] = [];
    await copyTree(from, to, {
      skip: (relative, isDir) => {
        asked.push(`${relative}${isDir ? '/' : ''}`);
        return relative === 'venv' || relative.endsWith('.log');
      },
    });
    expect(asked).toContain('venv/');
    expect(asked).toContain('logs/app.log');
    expect(asked).not.toContain('venv/lib/');
    expect(existsSync(path.join(to, 'venv'))).toBe(false);
    expect(readdirSync(path.join(to, 'logs'))).toEqual([]);
    expect(readFileSync(path.join(to, '-dash/--odd name.txt'), 'utf8')).toBe('odd\n');
  });

  it('replaces files, links and folders in the way, never writing through a link there; or keeps them', async () => {
    const from = makeSource();
    const outside = path.join(work, 'outside.txt');
    writeFileSync(outside, 'untouched\n');
    const to = path.join(work, 'to');
    write(path.join(to, 'app.py'), 'old\n');
    symlinkSync(outside, path.join(to, 'secret.env')); // a link where a file goes
    write(path.join(to, 'link/inside.txt'), 'a folder where a link goes\n');
    write(path.join(to, 'kept.txt'), 'not in the source\n');

    await copyTree(from, to, { overwrite: false });
    expect(readFileSync(path.join(to, 'app.py'), 'utf8')).toBe('old\n');
    expect(lstatSync(path.join(to, 'secret.env')).isSymbolicLink()).toBe(true);

    await copyTree(from, to);
    expect(readFileSync(path.join(to, 'app.py'), 'utf8')).toBe('print(1)\n');
    expect(lstatSync(path.join(to, 'secret.env')).isFile()).toBe(true);
    expect(readFileSync(outside, 'utf8')).toBe('untouched\n');
    expect(readlinkSync(path.join(to, 'link'))).toBe('app.py');
    expect(readFileSync(path.join(to, 'kept.txt'), 'utf8')).toBe('not in the source\n');
  });

  it('stops the copy, cp included, when the activity is cancelled', async () => {
    const from = path.join(work, 'big');
    writeTree(from, 20_000);
    const to = path.join(work, 'to');
    const env = new MockActivityEnvironment();
    const copying = (env.run(() => copyTree(from, to)) as Promise<number>).catch((error: unknown) => error);
    await waitFor(async () => expect(processesUnder(to).some((p) => p.includes(' cp '))).toBe(true), 60_000, 5);
    env.cancel();
    expect(await copying).toBeInstanceOf(CancelledFailure);
    await waitFor(async () => expect(processesUnder(to)).toEqual([]), 10_000, 50);
    expect(readdirSync(to, { recursive: true }).length).toBeLessThan(readdirSync(from, { recursive: true }).length);
  });
});

describe('runTool', () => {
  it('a tool the host lacks fails at once, non-retryably, saying what to install', async () => {
    const error = await new MockActivityEnvironment()
      .run(() => runTool(['runbook-no-such-tool', '-q'], 'extracting /tmp/x.zip'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'MissingTool', nonRetryable: true });
    expect((error as Error).message).toBe(
      'extracting /tmp/x.zip: runbook-no-such-tool is not installed on this host; install it (Debian or Ubuntu: apt-get install runbook-no-such-tool) and run again',
    );
  });
});
