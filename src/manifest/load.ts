import { readFileSync } from 'node:fs';
import { isMap, isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { formatPath, problemsFromIssues, type PathSegment, type Problem } from './problems';
import { manifestSchema } from './schema';
import { resolveManifest, type Manifest } from './types';

export type LoadResult = { ok: true; manifest: Manifest } | { ok: false; problems: Problem[] };

/** Parses and validates manifest text; never throws for a bad manifest, it reports every problem. */
export function parseManifest(text: string): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: '(yaml)',
        line: e.linePos?.[0].line,
        message: `not valid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}; check indentation and quoting around this line`,
      })),
    };
  }
  if (!isMap(doc.contents)) {
    return {
      ok: false,
      problems: [{ path: '(top level)', message: 'expected a YAML map starting with app:, host:, root:, source:' }],
    };
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // yaml refuses documents whose aliases expand without bound (a "billion laughs"), and the like.
    return {
      ok: false,
      problems: [
        {
          path: '(yaml)',
          message: `not accepted: ${(error as Error).message}; write the values out instead of nesting aliases (*name)`,
        },
      ],
    };
  }
  const result = manifestSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const problems = problemsFromIssues(result.error.issues, allowedKeysAt).map((p) => ({
      ...p,
      line: lineOf(doc, lineCounter, p.path),
    }));
    return { ok: false, problems };
  }
  return { ok: true, manifest: resolveManifest(result.data) };
}

export function loadManifestFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    return { ok: false, problems: [{ path: '(file)', message: `cannot read ${file}: ${why}` }] };
  }
  return parseManifest(text);
}

export function describeProblem(file: string, problem: Problem): string {
  const where = problem.line ? `${file}:${problem.line}` : file;
  return `${where}: ${problem.path}: ${problem.message}`;
}

function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: string): number | undefined {
  const segments: PathSegment[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g))
    segments.push(match[2] !== undefined ? Number(match[2]) : match[1]);
  while (segments.length > 0) {
    const node = doc.getIn(segments, true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
    segments.pop();
  }
  return undefined;
}

/** The keys a map at `path` may hold, for "did you mean" hints. */
function allowedKeysAt(path: PathSegment[]): string[] {
  let schemas: z.core.$ZodType[] = [manifestSchema as unknown as z.core.$ZodType];
  for (const segment of path) {
    schemas = schemas.flatMap(unwrap).flatMap((s) => {
      const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
      if (def.type === 'object') {
        const shape = def.shape as Record<string, z.core.$ZodType>;
        return typeof segment === 'string' && shape[segment] ? [shape[segment]] : [];
      }
      if (def.type === 'array' && typeof segment === 'number') return [def.element as z.core.$ZodType];
      if (def.type === 'record') return [def.valueType as z.core.$ZodType];
      return [];
    });
  }
  const keys = schemas
    .flatMap(unwrap)
    .filter((s) => s._zod.def.type === 'object')
    .flatMap((s) => Object.keys((s._zod.def as unknown as { shape: object }).shape));
  return [...new Set(keys)];
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'nullable':
    case 'prefault':
      return unwrap(def.innerType as z.core.$ZodType);
    case 'pipe':
      return unwrap(def.in as z.core.$ZodType);
    case 'union':
      return (def.options as z.core.$ZodType[]).flatMap(unwrap);
    default:
      return [schema];
  }
}

export { formatPath };
