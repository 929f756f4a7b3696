import type { z } from 'zod';

/** One thing wrong with a manifest, located by its path in the document. */
export interface Problem {
  path: string;
  message: string;
  line?: number;
}

export type PathSegment = PropertyKey;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(top level)';
}

/** Turns zod issues into problems a person can act on: the path, what was expected, how to fix it. */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  allowedKeysAt: (path: PathSegment[]) => string[],
): Problem[] {
  return issues.flatMap((issue) => describe(issue, [], allowedKeysAt));
}

function describe(
  issue: z.core.$ZodIssue,
  prefix: PathSegment[],
  allowedKeysAt: (path: PathSegment[]) => string[],
): Problem[] {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(path);
      return issue.keys.map((key) => {
        const suggestion = closest(key, allowed);
        const fix = suggestion
          ? `did you mean '${suggestion}'?`
          : allowed.length
            ? `allowed keys: ${allowed.join(', ')}`
            : 'remove it';
        return { path: formatPath([...path, key]), message: `unknown key; ${fix}` };
      });
    }
    case 'invalid_union':
      return describeUnion(issue, path, allowedKeysAt);
    case 'invalid_type': {
      if (isMissing(issue)) {
        const what = issue.message.startsWith('Invalid input')
          ? `add ${describeExpected(issue.expected)}`
          : issue.message;
        return [{ path: formatPath(path), message: `required: ${what}` }];
      }
      if (issue.message.startsWith('Invalid input')) {
        return [
          {
            path: formatPath(path),
            message: `expected ${describeExpected(issue.expected)}, got ${issue.message.split('received ')[1] ?? 'something else'}`,
          },
        ];
      }
      return [{ path: formatPath(path), message: issue.message }];
    }
    case 'invalid_value':
      return [{ path: formatPath(path), message: `expected one of: ${issue.values.map((v) => String(v)).join(', ')}` }];
    case 'too_small':
      if (issue.origin === 'array')
        return [{ path: formatPath(path), message: `expected at least ${String(issue.minimum)} item(s)` }];
      if (issue.origin === 'string') return [{ path: formatPath(path), message: 'expected a non-empty value' }];
      return [{ path: formatPath(path), message: `expected at least ${String(issue.minimum)}` }];
    case 'too_big':
      return [{ path: formatPath(path), message: `expected at most ${String(issue.maximum)}` }];
    case 'invalid_format':
      return [
        {
          path: formatPath(path),
          message: issue.message.startsWith('Invalid') ? `expected ${issue.format}` : issue.message,
        },
      ];
    default:
      return [{ path: formatPath(path), message: issue.message }];
  }
}

/**
 * A union fails with one error list per alternative. The alternative the author meant is the one whose
 * errors are not about its shape (an unknown key, its own key missing); when none fits, the author
 * wrote a form we do not know, so we list the forms.
 */
function describeUnion(
  issue: z.core.$ZodIssueInvalidUnion,
  path: PathSegment[],
  allowedKeysAt: (path: PathSegment[]) => string[],
): Problem[] {
  if (isMissing(issue))
    return [
      {
        path: formatPath(path),
        message: `required: ${issue.message.startsWith('Invalid input') ? 'add it' : issue.message}`,
      },
    ];
  if (!issue.message.startsWith('Invalid input') || issue.errors.length === 0)
    return [{ path: formatPath(path), message: issue.message }];
  const shapeErrors = (errors: readonly z.core.$ZodIssue[]) =>
    errors.filter(
      (e) =>
        e.code === 'unrecognized_keys' ||
        (e.code === 'invalid_type' && e.path.length <= 1 && isMissing(e)) ||
        (e.code === 'invalid_type' && e.path.length === 0),
    ).length;
  const ranked = issue.errors
    .map((errors) => ({ errors, shape: shapeErrors(errors) }))
    .sort((a, b) => a.shape - b.shape || a.errors.length - b.errors.length);
  if (ranked[0].shape === 0) return ranked[0].errors.flatMap((e) => describe(e, path, allowedKeysAt));
  const forms = issue.errors
    .map((errors) => errors.find((e) => e.path.length === 1 && isMissing(e)))
    .filter((e): e is z.core.$ZodIssue => e !== undefined)
    .map((e) => String(e.path[0]));
  const onlyTypeErrors = issue.errors.every((errors) =>
    errors.every((e) => e.code === 'invalid_type' && e.path.length === 0),
  );
  if (onlyTypeErrors) return [{ path: formatPath(path), message: 'expected a map of settings (key: value)' }];
  return [
    {
      path: formatPath(path),
      message: forms.length
        ? `unknown form; expected one of the keys: ${[...new Set(forms)].join(', ')}`
        : 'unknown form',
    },
  ];
}

/** Parsing runs with reportInput, so a missing key is an issue whose input is undefined. */
function isMissing(issue: z.core.$ZodIssue): boolean {
  return 'input' in issue && issue.input === undefined;
}

function describeExpected(expected: string): string {
  const words: Record<string, string> = {
    string: 'a text value',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a map of settings (key: value)',
    record: 'a map of settings (key: value)',
  };
  return words[expected] ?? expected;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
