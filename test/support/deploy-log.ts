import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import path from 'node:path';
import { scanDeployLog, type DeployLogLine } from '../../src/activities/deploy-log';

/** More bytes than Node can hold in one string: a log this long cannot be read whole with `readFileSync`. */
export const BEYOND_ONE_STRING = bufferConstants.MAX_STRING_LENGTH + 4 * 1024 * 1024;

/**
 * A deploy log as years of a frequent scheduled job leave it: `lines` first, then `bytes` of the job's
 * records (each finished on a day of 2025, as written before lines carried `recordedAt`), then `last`.
 */
export function writeLongDeployLog(
  file: string,
  { bytes, app, first = [], last = [] }: { bytes: number; app: string; first?: object[]; last?: object[] },
): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const record = (i: number) =>
    `${JSON.stringify({
      at: new Date(Date.UTC(2025, 0, 1) + (i % 525_600) * 60_000).toISOString(),
      kind: 'job',
      app,
      outcome: 'succeeded',
      summary: 'job process-day succeeded in 12.3s',
      workflowId: `job-${app}-process-day-${i}`,
      runId: `run-${i}`,
      steps: [{ name: 'process the day', status: 'succeeded', durationMs: 12_300 }],
    })}\n`;
  const fd = openSync(file, 'w');
  try {
    for (const line of first) writeSync(fd, `${JSON.stringify(line)}\n`);
    let chunk = '';
    for (let i = 0; chunk.length < 8 * 1024 * 1024; i++) chunk += record(i);
    const block = Buffer.from(chunk);
    for (let written = 0; written < bytes; written += block.length) writeSync(fd, block);
    for (const line of last) writeSync(fd, `${JSON.stringify(line)}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Bytes this process has read so far (all its read calls, from /proc/self/io). */
export function bytesRead(): number {
  const match = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (!match) throw new Error('no rchar in /proc/self/io');
  return Number(match[1]);
}

/** Every record of a deploy log, oldest first, and the lines that are not records, as the workers read them. */
export async function readWholeDeployLog(file: string): Promise<{ lines: DeployLogLine[]; skipped: string[] }> {
  const newestFirst: DeployLogLine[] = [];
  const { skipped } = await scanDeployLog(file, (line) => void newestFirst.push(line));
  return { lines: newestFirst.reverse(), skipped };
}
