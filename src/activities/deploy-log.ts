import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import path from 'node:path';
import type { RunReport } from '../common/progress';

/** One line of the deploy log (<root>/deploy_log.jsonl): what people without UI access read. */
export interface DeployLogLine {
  at: string;
  /** When the worker appended the line (absent in lines written before it was recorded). */
  recordedAt?: string;
  kind: RunReport['kind'];
  app: string;
  outcome: RunReport['outcome'];
  ref?: string;
  release?: string;
  summary: string;
  error?: string;
  workflowId: string;
  runId: string;
  /** The run id a reset keeps (absent in lines written before it was recorded). */
  originalRunId?: string;
  steps: Array<{ name: string; status: string; durationMs?: number }>;
}

/**
 * Every run adds a line, scheduled jobs included, so the log grows for as long as the app lives: years of a
 * job every minute are hundreds of MB, more than one string can hold. It is read from its end, a chunk at a
 * time, and a reader stops as soon as it has what it needs.
 */
const CHUNK_BYTES = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/** A longer line is no record Runbook wrote (a record is a few KB): skipped without holding it whole. */
const LONGEST_LINE_BYTES = 16 * 1024 * 1024;

/** Judges one line (`where` says where it is): true once the reader has what it needs. */
type Take = (where: string, bytes: Buffer) => boolean;
/** Names a part of the log that is not a record (`where` says where it is) and why. */
type Skip = (where: string, why: string) => void;

/**
 * Visits the log's records newest first until `visit` returns true: the log itself, then the copies logrotate
 * made of it beside it (`deploy_log.jsonl.1`, `.2.gz`, `-20261201.gz`…), newest first. A line that is not a
 * record (cut short by a full disk or a crash, edited by hand) is skipped and named in the answer, never a
 * reason to stop reading. With `mentioning`, only lines holding that text are read at all (the others are
 * neither visited nor judged); with `appendedSince` (ms), copies last written before then are not read.
 */
export async function scanDeployLog(
  file: string,
  visit: (line: DeployLogLine) => boolean | void,
  { mentioning, appendedSince = -Infinity }: { mentioning?: string; appendedSince?: number } = {},
): Promise<{ skipped: string[] }> {
  const skipped: string[] = [];
  const needle = mentioning === undefined ? undefined : Buffer.from(mentioning);
  const scan = (source: string) => {
    const skip = (where: string, why: string) => skipped.push(`${source} ${where}: ${why}`);
    const take: Take = (where, bytes) => {
      if (needle && !bytes.includes(needle)) return false;
      const text = bytes.toString('utf8');
      if (!text.trim()) return false;
      let line: DeployLogLine;
      try {
        line = JSON.parse(text) as DeployLogLine;
        if (!line || typeof line !== 'object' || typeof line.runId !== 'string') throw new Error('not a run record');
      } catch (error) {
        skip(where, (error as Error).message);
        return false;
      }
      return visit(line) === true;
    };
    return source.endsWith('.gz') ? scanCompressed(source, take, skip, needle) : scanBackwards(source, take, skip);
  };
  // The copies are looked for only when the log itself did not hold what the reader needs.
  if (await scan(file)) return { skipped };
  for (const copy of await rotatedCopies(file)) {
    if (copy.writtenAt < appendedSince || (await scan(copy.file))) break;
  }
  return { skipped };
}

/** What logrotate names its copies of a log: a number or a date after it, `.gz` when compressed. */
const COPY_SUFFIX = /^[.-][0-9][0-9._-]*(\.gz)?$/;

/** The copies of `file` beside it, newest first (by when each was last written). */
async function rotatedCopies(file: string): Promise<Array<{ file: string; writtenAt: number }>> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const names = await readdir(dir).catch(() => [] as string[]);
  const copies: Array<{ file: string; writtenAt: number }> = [];
  for (const name of names) {
    if (!name.startsWith(base) || !COPY_SUFFIX.test(name.slice(base.length))) continue;
    const info = await lstat(path.join(dir, name)).catch(() => undefined);
    if (info?.isFile()) copies.push({ file: path.join(dir, name), writtenAt: info.mtimeMs });
  }
  return copies.sort((a, b) => b.writtenAt - a.writtenAt);
}

/** Reads a plain log from its end, a chunk at a time; true once `take` has what it needs. */
async function scanBackwards(file: string, take: Take, skip: Skip): Promise<boolean> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!handle) return false;
  try {
    let position = (await handle.stat()).size;
    // The bytes after the last line break seen: the end of a line whose start is in an earlier chunk.
    let tail = EMPTY;
    let tooLong = false;
    while (position > 0) {
      const size = Math.min(CHUNK_BYTES, position);
      position -= size;
      const chunk = await readAt(handle, size, position);
      let end = size;
      for (let at = chunk.lastIndexOf(0x0a, end - 1); at >= 0; at = at > 0 ? chunk.lastIndexOf(0x0a, at - 1) : -1) {
        const line = tail.length ? Buffer.concat([chunk.subarray(at + 1, end), tail]) : chunk.subarray(at + 1, end);
        tail = EMPTY;
        end = at;
        if (tooLong) {
          tooLong = false;
          skip(`at byte ${position + at + 1}`, `longer than ${LONGEST_LINE_BYTES} bytes`);
        } else if (take(`at byte ${position + at + 1}`, line)) return true;
      }
      if (tooLong) continue;
      tail = Buffer.concat([chunk.subarray(0, end), tail]);
      if (tail.length > LONGEST_LINE_BYTES) {
        tooLong = true;
        tail = EMPTY;
      }
    }
    if (tooLong) skip('at byte 0', `longer than ${LONGEST_LINE_BYTES} bytes`);
    else return take('at byte 0', tail);
    return false;
  } finally {
    await handle.close();
  }
}

/**
 * Reads a compressed copy, which can only be read from its start: the lines holding `needle` (all, without
 * one) are kept as they come, then judged newest first. A copy cut short (a crash while logrotate compressed
 * it) gives the lines before the cut.
 */
async function scanCompressed(file: string, take: Take, skip: Skip, needle: Buffer | undefined): Promise<boolean> {
  const kept: Array<{ line: number; bytes: Buffer }> = [];
  let line = 0;
  let rest = EMPTY;
  let tooLong = false;
  const end = (bytes: Buffer) => {
    line += 1;
    if (tooLong) {
      tooLong = false;
      skip(`at line ${line}`, `longer than ${LONGEST_LINE_BYTES} bytes`);
    } else if (!needle || bytes.includes(needle)) kept.push({ line, bytes: Buffer.from(bytes) });
  };
  try {
    await pipeline(createReadStream(file), createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        let start = 0;
        for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, start)) {
          end(rest.length ? Buffer.concat([rest, chunk.subarray(start, at)]) : chunk.subarray(start, at));
          rest = EMPTY;
          start = at + 1;
        }
        if (tooLong) continue;
        rest = Buffer.concat([rest, chunk.subarray(start)]);
        if (rest.length > LONGEST_LINE_BYTES) {
          tooLong = true;
          rest = EMPTY;
        }
      }
      if (rest.length || tooLong) end(rest);
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    skip(`after line ${line}`, (error as Error).message);
  }
  for (let i = kept.length - 1; i >= 0; i--) if (take(`at line ${kept[i].line}`, kept[i].bytes)) return true;
  return false;
}

async function readAt(handle: FileHandle, size: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(size);
  for (let filled = 0; filled < size;) {
    const { bytesRead } = await handle.read(buffer, filled, size - filled, position + filled);
    if (bytesRead === 0) return buffer.subarray(0, filled);
    filled += bytesRead;
  }
  return buffer;
}

/** Appends one record; a last line cut short by a crash gets its line ended first, so the new record is whole. */
export async function appendDeployLogLine(file: string, line: DeployLogLine): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, 'a+');
  try {
    const { size } = await handle.stat();
    const last = size > 0 ? await readAt(handle, 1, size - 1) : undefined;
    await handle.write(`${last && last[0] !== 0x0a ? '\n' : ''}${JSON.stringify(line)}\n`);
  } finally {
    await handle.close();
  }
}

/**
 * When a line was appended: its `recordedAt`, or for a line written before that was kept, the end of its run
 * (it was appended then or, after retries, later).
 */
export function appendedAt(line: DeployLogLine): number {
  return Date.parse(line.recordedAt ?? line.at);
}
