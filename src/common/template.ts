/**
 * Argument templates: an argv element may contain `{{name}}` placeholders. Each element is substituted
 * on its own (no shell, no word splitting); an element that names a value which is not set is dropped
 * whole, so `--tenant-id={{tenantId}}` disappears when no tenant is given.
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

export function expandArgv(argv: readonly string[], values: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const element of argv) {
    let missing = false;
    const expanded = element.replace(PLACEHOLDER, (_, name: string) => {
      const value = values[name];
      if (value === undefined) missing = true;
      return value ?? '';
    });
    if (!missing) out.push(expanded);
  }
  return out;
}

export function expandText(text: string, values: Readonly<Record<string, string | undefined>>): string {
  return text.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '');
}
