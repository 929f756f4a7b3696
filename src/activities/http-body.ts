/** The most of a response body Runbook reads: enough for any health page or API answer, never a whole download. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A response body as text, read up to `maxBytes` and then cut off (the rest is never downloaded): a check or
 * job URL that streams without end, or answers with a huge file, cannot exhaust the worker's memory.
 */
export async function readBody(
  response: Response,
  maxBytes = MAX_BODY_BYTES,
): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - size));
        truncated = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (truncated) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated };
}
