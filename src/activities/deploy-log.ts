import { mkdir, open, type FileHandle } from 'node:fs/promises';
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

/**
 * Visits the log's records newest first until `visit` returns true. A line that is not a record (cut short by
 * a full disk or a crash, edited by hand) is skipped and named in the answer, never a reason to stop reading.
 * With `mentioning`, only lines holding that text are read at all (the others are neither visited nor judged).
 */
export async function scanDeployLog(
  file: string,
  visit: (line: DeployLogLine) => boolean | void,
  { mentioning }: { mentioning?: string } = {},
): Promise<{ skipped: string[] }> {
  const skipped: string[] = [];
  const needle = mentioning === undefined ? undefined : Buffer.from(mentioning);
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!handle) return { skipped };
  // A line is judged whole: true once the visitor has what it needs.
  const take = (bytes: Buffer, offset: number): boolean => {
    if (needle && !bytes.includes(needle)) return false;
    const text = bytes.toString('utf8');
    if (!text.trim()) return false;
    let line: DeployLogLine;
    try {
      line = JSON.parse(text) as DeployLogLine;
      if (!line || typeof line !== 'object' || typeof line.runId !== 'string') throw new Error('not a run record');
    } catch (error) {
      skipped.push(`${file} at byte ${offset}: ${(error as Error).message}`);
      return false;
    }
    return visit(line) === true;
  };
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
          skipped.push(`${file} at byte ${position + at + 1}: longer than ${LONGEST_LINE_BYTES} bytes`);
        } else if (take(line, position + at + 1)) return { skipped };
      }
      if (tooLong) continue;
      tail = Buffer.concat([chunk.subarray(0, end), tail]);
      if (tail.length > LONGEST_LINE_BYTES) {
        tooLong = true;
        tail = EMPTY;
      }
    }
    if (tooLong) skipped.push(`${file} at byte 0: longer than ${LONGEST_LINE_BYTES} bytes`);
    else take(tail, 0);
    return { skipped };
  } finally {
    await handle.close();
  }
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
