import { open } from 'node:fs/promises';

const CHUNK_BYTES = 1024 * 1024;
/** Past this a line is judged in pieces (each overlapping the last by a pattern's length), never held whole. */
const LONGEST_LINE_BYTES = 1024 * 1024;

export interface LogScan {
  /** The first line holding a pattern, with the pattern. */
  found?: { pattern: string; line: string };
  /** Where the next look starts: the end of the last whole line read (a line still being written is read again). */
  checkedTo: number;
}

/**
 * Reads a log from `from` to its current end, a chunk at a time, for the first line holding any of
 * `patterns`. Bytes are compared as they are, so a pattern is found whatever the log's encoding does
 * around it. A last line not yet ended counts when it already holds a pattern.
 */
export async function scanLog(file: string, from: number, patterns: readonly string[]): Promise<LogScan> {
  const needles = patterns.map((pattern) => ({ pattern, bytes: Buffer.from(pattern) }));
  const overlap = Math.max(0, ...needles.map((n) => n.bytes.length - 1));
  const match = (line: Buffer) => needles.find((n) => line.includes(n.bytes));
  const handle = await open(file, 'r');
  try {
    const end = (await handle.stat()).size;
    let position = from;
    // The start of a line whose end is not read yet.
    let pending = Buffer.alloc(0);
    let pendingAt = from;
    while (position < end) {
      const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, end - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      let text = Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
      let textAt = pendingAt;
      position += bytesRead;
      for (let lineEnd = text.indexOf(0x0a); lineEnd >= 0; lineEnd = text.indexOf(0x0a)) {
        const line = text.subarray(0, lineEnd);
        const hit = match(line);
        if (hit) return { found: { pattern: hit.pattern, line: line.toString('utf8') }, checkedTo: textAt };
        text = text.subarray(lineEnd + 1);
        textAt += lineEnd + 1;
      }
      if (text.length > LONGEST_LINE_BYTES) {
        const hit = match(text);
        if (hit) return { found: { pattern: hit.pattern, line: text.toString('utf8') }, checkedTo: textAt };
        textAt += text.length - overlap;
        text = text.subarray(text.length - overlap);
      }
      pending = Buffer.from(text);
      pendingAt = textAt;
    }
    const hit = pending.length > 0 ? match(pending) : undefined;
    if (hit) return { found: { pattern: hit.pattern, line: pending.toString('utf8') }, checkedTo: pendingAt };
    return { checkedTo: pendingAt };
  } finally {
    await handle.close();
  }
}
