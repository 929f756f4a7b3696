/**
 * One schema per workflow input: what the Web UI's start form, the CLI and Schedules may send. Workflows
 * check their input with these before doing anything (search attributes, activities, the lock's work);
 * the CLI checks the same before starting, so a run it would refuse never starts. Pure: workflows import it.
 */
import { z } from 'zod';
import { daysInRange, isIsoDate } from './dates';
import { failure, isFailureOf } from './failures';
import { MAX_JOB_DATES } from './job-plan';
import { NAME_PATTERN } from './names';
import { isWellFormedRef } from './refs';

const CONTROL = /[\u0000-\u001f\u007f]/; // eslint-disable-line no-control-regex

function token(pattern: RegExp, max: number, hint: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `is required: ${hint}` : `expected ${hint}`) })
    .max(max, { error: `is longer than ${max} characters; expected ${hint}` })
    .regex(pattern, { error: `expected ${hint}` })
    .refine((value) => !value.includes('..'), { error: `may not contain '..'; expected ${hint}` });
}

const appName = token(
  NAME_PATTERN,
  63,
  'the app name from its manifest: lowercase letters, digits and dashes, such as almareia',
);
const itemName = (what: string) =>
  token(NAME_PATTERN, 63, `the name of a ${what} in the manifest: lowercase letters, digits and dashes`);
const artifactId = (what: string, example: string) =>
  token(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 200, `${what} such as ${example} (letters, digits, '.', '_', '-')`);

const REF_HINT =
  "a git branch, tag or commit, a release label or an image tag, such as v1.4.2 (letters, digits, '.', '_', '/', '@', '+', '-'; no leading '-')";
const ref = z
  .string({ error: (issue) => (issue.input === undefined ? `is required: ${REF_HINT}` : `expected ${REF_HINT}`) })
  .max(200, { error: `is longer than 200 characters; expected ${REF_HINT}` })
  .refine(isWellFormedRef, { error: `expected ${REF_HINT}` });

const flag = z.boolean({ error: 'expected true or false (a JSON boolean, not a string such as "true")' });

const PARAM_VALUE_HINT = "a string of up to 1000 printable characters that does not start with '-'";
const params = z
  .record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, { error: 'expected a parameter name such as tenantId' }),
    z
      .string({ error: `expected ${PARAM_VALUE_HINT}` })
      .max(1000, { error: `expected ${PARAM_VALUE_HINT}` })
      .refine((v) => !CONTROL.test(v) && !v.startsWith('-'), { error: `expected ${PARAM_VALUE_HINT}` }),
    { error: 'expected an object of parameter names to string values, such as {"tenantId": "42"}' },
  )
  .refine((p) => Object.keys(p).length <= 50, { error: 'expected at most 50 parameters' });

const DATE_HINT = 'a date such as 2025-12-01 (YYYY-MM-DD)';
const isoDate = z
  .string({ error: `expected ${DATE_HINT}` })
  .max(10, { error: `expected ${DATE_HINT}` })
  .refine(isIsoDate, { error: `expected ${DATE_HINT}` });

const mode = token(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 64, "one of the job's modes, such as manual or auto");

const TIME_ZONE_HINT = 'an IANA time zone such as America/Sao_Paulo';
const timezone = z
  .string({ error: `expected ${TIME_ZONE_HINT}` })
  .max(64, { error: `expected ${TIME_ZONE_HINT}` })
  .refine(isTimeZone, { error: `expected ${TIME_ZONE_HINT}` });

function isTimeZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+/-]*$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** An input object: JSON `{...}` with exactly these fields; `example` is what the message suggests instead. */
function inputObject<S extends z.core.$ZodLooseShape>(shape: S, example: string) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'invalid_type' ? `expected a JSON object such as ${example}` : undefined),
  });
}

export const deployInputSchema = inputObject(
  {
    app: appName,
    ref,
    params: params.optional(),
    seed: flag.optional(),
    requireApproval: flag.optional(),
    onFailure: z
      .enum(['rollback', 'ask'], { error: 'expected "rollback" (undo at once) or "ask" (wait for an operator)' })
      .optional(),
  },
  '{"app": "almareia", "ref": "v1.4.2"}',
);

export const rollbackInputSchema = inputObject(
  { app: appName, to: artifactId('a release id', '20250131T070000Z-1a2b3c4d').optional() },
  '{"app": "almareia"} or {"app": "almareia", "to": "<release id>"}',
);

export const backupInputSchema = inputObject(
  { app: appName, target: itemName('backup target').optional() },
  '{"app": "orquetask"} or {"app": "orquetask", "target": "database"}',
);

export const restoreInputSchema = inputObject(
  {
    app: appName,
    backup: artifactId('a backup id from `runbook backups <app>`', 'orquetask-database-20261124T050000Z').optional(),
    scratch: flag.optional(),
  },
  '{"app": "orquetask", "backup": "orquetask-database-20261124T050000Z", "scratch": true}',
).superRefine((input, ctx) => {
  if (input.backup === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['backup'],
      message: `restore needs the id of the backup to restore (never implicit); list them with \`runbook backups ${input.app}\``,
    });
});

export const jobInputSchema = inputObject(
  {
    app: appName,
    job: itemName('job'),
    date: isoDate.optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    mode: mode.optional(),
    params: params.optional(),
    timezone: timezone.optional(),
  },
  '{"app": "financial-etl", "job": "daily-processor", "date": "2025-12-01"}',
).superRefine((input, ctx) => {
  const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
  if (input.date !== undefined && (input.from !== undefined || input.to !== undefined))
    return issue('date', 'give either date, or from and to, not both');
  if (input.from === undefined && input.to !== undefined)
    return issue('from', `a range needs both from and to (to is ${input.to})`);
  if (input.to === undefined && input.from !== undefined)
    return issue('to', `a range needs both from and to (from is ${input.from})`);
  if (input.from === undefined || input.to === undefined) return;
  if (input.from > input.to)
    return issue('to', `the range ends (${input.to}) before it starts (${input.from}); swap from and to`);
  const days = daysInRange(input.from, input.to);
  if (days > MAX_JOB_DATES)
    issue('to', `${input.from}..${input.to} is ${days} dates, more than ${MAX_JOB_DATES} in one run; split the range`);
});

export const drillInputSchema = inputObject(
  { app: appName, target: itemName('backup target').optional() },
  '{"app": "orquetask"} or {"app": "orquetask", "target": "database"}',
);

const DURATION_HINT = 'a duration of 1s or more, such as 1m or 30s';
export const watchInputSchema = inputObject(
  {
    app: appName,
    every: z
      .string({ error: `expected ${DURATION_HINT}` })
      .regex(/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/, { error: `expected ${DURATION_HINT}` })
      .optional(),
    since: z
      .string({ error: 'expected an ISO time such as 2026-11-24T05:00:00Z' })
      .refine((v) => !Number.isNaN(Date.parse(v)), { error: 'expected an ISO time such as 2026-11-24T05:00:00Z' })
      .optional(),
    looksPerRun: z.number().int().min(1, { error: 'expected a whole number of 1 or more' }).optional(),
    /** What the previous run of the watcher knew (continue-as-new). */
    state: z.record(z.string(), z.unknown()).optional(),
  },
  '{"app": "orquetask"}',
);

const appOnly = (example: string) => inputObject({ app: appName }, example);
export const inspectInputSchema = appOnly('{"app": "almareia"}');
export const releasesInputSchema = appOnly('{"app": "almareia"}');
export const backupsInputSchema = appOnly('{"app": "orquetask"}');

/** The schema of each workflow type's input, by workflow type. */
export const WORKFLOW_INPUT_SCHEMAS = {
  deploy: deployInputSchema,
  rollback: rollbackInputSchema,
  backup: backupInputSchema,
  restore: restoreInputSchema,
  job: jobInputSchema,
  inspect: inspectInputSchema,
  releases: releasesInputSchema,
  backups: backupsInputSchema,
  drill: drillInputSchema,
  watch: watchInputSchema,
} as const;

export type DeployInput = z.output<typeof deployInputSchema>;
export type RollbackInput = z.output<typeof rollbackInputSchema>;
export type BackupInput = z.output<typeof backupInputSchema>;
export type RestoreInput = z.output<typeof restoreInputSchema> & { backup: string };
export type JobInput = z.output<typeof jobInputSchema>;
export type DrillInput = z.output<typeof drillInputSchema>;
export type AppInput = z.output<typeof inspectInputSchema>;

/** One refused field: where (a dotted path, `input` for the whole) and what to send instead. */
export interface InputProblem {
  field: string;
  message: string;
}

/**
 * The input checked against its schema, or a non-retryable `BadInput` failure whose message names every bad
 * field and what to send instead. Values are never echoed (they may be huge or hold control characters).
 * Every workflow calls this first; so do the CLI and anything else that starts runs.
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  // jitless: no parser compiled with `new Function` at run time (workflow code runs in Temporal's sandbox).
  const result = schema.safeParse(raw, { jitless: true });
  if (result.success) return result.data;
  const problems = inputProblems(result.error.issues);
  throw failure('BadInput', `${what} input refused: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, {
    details: [{ problems }],
  });
}

/** The problems of an ApplicationFailure from `parseInput`, or undefined for any other error. */
export function badInputProblems(error: unknown): InputProblem[] | undefined {
  if (!isFailureOf(error, 'BadInput')) return undefined;
  const details = error.details?.[0] as { problems?: InputProblem[] } | undefined;
  return details?.problems ?? [{ field: 'input', message: error.message }];
}

function inputProblems(issues: readonly z.core.$ZodIssue[]): InputProblem[] {
  const problems = issues.slice(0, 10).flatMap((issue): InputProblem[] => {
    const at = issue.path.map((p) => printable(String(p))).join('.');
    if (issue.code === 'unrecognized_keys')
      return issue.keys.slice(0, 5).map((key) => ({
        field: [at, printable(key)].filter(Boolean).join('.'),
        message: 'is not a field of this input; remove it (check its spelling)',
      }));
    return [{ field: at || 'input', message: issue.message }];
  });
  return problems.filter((p, i) => problems.findIndex((q) => q.field === p.field) === i);
}

/** A key as a message may show it: at most 60 characters, control characters replaced. */
function printable(text: string): string {
  const clean = text.replace(new RegExp(CONTROL.source, 'g'), '?');
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean;
}
