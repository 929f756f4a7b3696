/** What stands in for a secret in any output Runbook keeps. */
export const MASK = '***';

/** Fragments this short at the edge of a cut are masked too; shorter ones carry too little to matter. */
const EDGE_FRAGMENT = 3;

/**
 * Masks every secret (as `secretForms` lists them) in text that is kept: command output, failure messages.
 * Cut first, redact last: a tail or head kept from longer output can start or end in the middle of a secret,
 * and that fragment is masked as well.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  const longestFirst = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of longestFirst) out = out.split(secret).join(MASK);
  return maskCutEdges(out, longestFirst);
}

function maskCutEdges(text: string, secrets: readonly string[]): string {
  let head = 0;
  let tail = 0;
  for (const secret of secrets) {
    for (let k = Math.min(secret.length - 1, text.length); k >= EDGE_FRAGMENT; k--)
      if (text.startsWith(secret.slice(-k))) {
        head = Math.max(head, k);
        break;
      }
    for (let k = Math.min(secret.length - 1, text.length); k >= EDGE_FRAGMENT; k--)
      if (text.endsWith(secret.slice(0, k))) {
        tail = Math.max(tail, k);
        break;
      }
  }
  if (head + tail >= text.length) return head + tail > 0 ? MASK : text;
  return `${head ? MASK : ''}${text.slice(head, text.length - tail)}${tail ? MASK : ''}`;
}
