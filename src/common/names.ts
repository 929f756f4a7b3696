/** Names derived from an app and a time, shared by workflows, activities and the client. Pure. */

/** A compact UTC timestamp for names: 20261123T224500Z. */
export function compactTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
