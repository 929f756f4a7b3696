/** Sizes and shares as manifests write them: `512MiB`, `1.5G` (1024-based, as systemd reads them), `150%`. */
const BYTE_UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
export const BYTES_PATTERN = /^(\d+(?:\.\d+)?)([KMGT])(?:i?B)?$/;
export const PERCENT_PATTERN = /^(\d+(?:\.\d+)?)%$/;

/** "512MiB", "512M", "1.5GiB" → bytes; undefined when the text is not a size. */
export function parseBytes(text: string): number | undefined {
  const match = BYTES_PATTERN.exec(text);
  return match ? Math.round(Number(match[1]) * BYTE_UNITS[match[2]]) : undefined;
}

/** "150%" → 150; undefined when the text is not a percentage. */
export function parsePercent(text: string): number | undefined {
  const match = PERCENT_PATTERN.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** 1536 → "1.5 KiB", 536870912 → "512 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : Number(value.toFixed(1))} ${units[unit]}`;
}
