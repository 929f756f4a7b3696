import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { NAME_PATTERN } from '../common/names';
import { STEP_PHASES } from '../common/labels';
import { placeholders } from '../common/template';
import { CommandSyntaxError, commandToArgv } from './argv';
import { DURATION_PATTERN, parseDuration } from '../common/duration';
import { BYTES_PATTERN, PERCENT_PATTERN } from '../common/units';

/*
 * The app manifest: one YAML file per application. Secrets appear only as environment-variable names
 * (fields ending in `Env`); no field holds a secret's value.
 */

const name = z
  .string()
  .regex(NAME_PATTERN, { error: 'expected a lowercase name of letters, digits and dashes, such as web-1' });

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
  error:
    'expected an environment variable name such as DATABASE_URL (the value is read on the worker, never written here)',
});

const DURATION_HINT = 'expected a duration such as 30s, 5m or 1h30m';
const duration = z.string({ error: DURATION_HINT }).regex(DURATION_PATTERN, { error: DURATION_HINT });

const absolutePath = z.string().regex(/^\//, { error: 'expected an absolute path such as /srv/myapp' });

const releasePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.endsWith('/'), {
    error: 'expected a path inside the release such as logs or config/.env (relative, no .., no trailing /)',
  });

const port = z.number({ error: 'expected a port number' }).int().min(1).max(65535);

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected a URL such as http://127.0.0.1:5000/health' });

const anyCommand = z.union([z.string().min(1), z.array(z.string()).min(1)], {
  error: 'expected a command: a string such as "pip install -r requirements.txt" or a list of arguments',
});

function checkArgvSyntax(command: string | string[], ctx: z.RefinementCtx, path: (string | number)[] = []): void {
  try {
    commandToArgv(command);
  } catch (error) {
    if (error instanceof CommandSyntaxError) ctx.addIssue({ code: 'custom', path, message: error.message });
    else throw error;
  }
}

/** A command run without a shell: a string is split into words, shell operators are refused. */
export const commandSchema = anyCommand.superRefine((command, ctx) => checkArgvSyntax(command, ctx));

/** Objects with `run` and `shell`: the words are checked only when no shell will read them. */
function checkRunUnlessShell(value: { run?: string | string[]; shell?: boolean }, ctx: z.RefinementCtx): void {
  if (value.run && !value.shell) checkArgvSyntax(value.run, ctx, ['run']);
}

const envValues = z.record(envName, z.string(), {
  error: 'expected a map of NAME: value (plain settings only; name secrets in env.required instead)',
});

const stepSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .optional()
      .describe('What the step does, as on-call should read it; defaults to the command'),
    run: anyCommand,
    shell: z.boolean().optional().describe('Run through /bin/sh -c; only for fixed text, never with {{params}}'),
    cwd: z.string().optional().describe('Working directory, relative to the release (or absolute)'),
    env: envValues.optional(),
    timeout: duration.optional(),
    retries: z.number().int().min(0).max(20).optional(),
    when: z
      .strictObject({ params: z.array(z.string().min(1)).min(1) })
      .optional()
      .describe('Run the step only when the deploy gives every one of these params (e.g. a --fake migration)'),
    skippable: z
      .boolean()
      .optional()
      .describe('With onFailure: ask, an operator may skip this step when it fails (runbook skip)'),
    once: z
      .boolean()
      .optional()
      .describe(
        "Run on the app's first deploy that reaches it on this host, never again (a schema created once); renaming the step runs it again",
      ),
  })
  .superRefine(checkRunUnlessShell);

const paramSpec = z.strictObject({
  description: z.string().optional(),
  required: z.boolean().default(false),
  default: z
    .string()
    .refine((value) => !value.startsWith('-'), {
      error: "a value may not start with '-' (a command would read it as an option)",
    })
    .optional(),
  pattern: z
    .string()
    .superRefine((pattern, ctx) => {
      const problem = regExpProblem(pattern);
      if (problem)
        ctx.addIssue({ code: 'custom', message: `expected a regular expression such as [0-9]+: ${problem}` });
    })
    .optional()
    .describe('Regular expression a value must match (anchored)'),
});

/** Why a param pattern does not compile (as the workflows compile it: anchored), or undefined. */
function regExpProblem(pattern: string): string | undefined {
  try {
    new RegExp(`^(?:${pattern})$`);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

// ---- checks (health after a restart, dependencies before a deploy) --------------------------------

const headersEnv = z
  .record(z.string().regex(/^[A-Za-z0-9-]+$/, { error: 'expected an HTTP header name such as Authorization' }), envName)
  .describe('Headers whose values are read from environment variables on the host, e.g. Authorization: API_TOKEN');

const httpCheck = z.strictObject({
  name: z.string().optional(),
  http: httpUrl,
  expect: z.union([z.number().int(), z.array(z.number().int())]).default(200),
  contains: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional().describe('Plain headers; name secret ones in headersEnv'),
  headersEnv: headersEnv.optional(),
  timeout: duration.optional(),
});
const tcpCheck = z.strictObject({
  name: z.string().optional(),
  tcp: z.string().regex(/^[^:\s]+:\d+$/, { error: 'expected host:port such as 127.0.0.1:5432' }),
});
const postgresCheck = z.strictObject({
  name: z.string().optional(),
  postgres: z.strictObject({ urlEnv: envName, query: z.string().default('SELECT 1') }),
});
const redisCheck = z.strictObject({
  name: z.string().optional(),
  redis: z.strictObject({ urlEnv: envName }),
});
const heartbeatCheck = z.strictObject({
  name: z.string().optional(),
  heartbeat: z.strictObject({
    redisUrlEnv: envName,
    key: z
      .string()
      .min(1)
      .describe(
        'Key holding the heartbeat; with * a pattern (rq:worker:*): at least one key matches and every match is fresh, one per worker as RQ keeps them',
      ),
    field: z.string().optional().describe('Hash field holding the timestamp, when the key is a hash'),
    maxAge: duration.default('60s'),
  }),
});
const logsCheck = z.strictObject({
  name: z.string().optional(),
  logs: z.string().min(1).describe('Log file, relative to the app root or absolute'),
  deny: z.array(z.string().min(1)).min(1).default(['Traceback', 'ImportError']),
});
const commandCheck = z.strictObject({
  name: z.string().optional(),
  command: commandSchema,
  cwd: z.string().optional(),
});

export const checkSchema = z.union([
  httpCheck,
  tcpCheck,
  postgresCheck,
  redisCheck,
  heartbeatCheck,
  logsCheck,
  commandCheck,
]);

// ---- code source ----------------------------------------------------------------------------------

const gitSource = z.strictObject({
  type: z.literal('git'),
  repo: z.string().min(1).optional().describe('Clone URL or path of the repository (no credentials: use repoEnv)'),
  repoEnv: envName
    .optional()
    .describe('Variable holding the clone URL when it carries credentials (https://token@host/...), read on the host'),
  allowedRefs: z.array(z.string().min(1)).optional().describe('Branches/tags that may be deployed (globs allowed)'),
});
const copySource = z.strictObject({
  type: z.literal('copy'),
  from: absolutePath.describe('Staging folder holding the new version'),
  exclude: z.array(z.string()).default([]),
});
const imageSource = z.strictObject({
  type: z.literal('image'),
  image: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._/:-]*$/, {
      error: 'expected an image name without a tag, such as secretaria-app or registry.local:5000/secretaria-app',
    })
    .refine((image) => !/:[^/]*$/.test(image), {
      error: 'expected an image name without a tag (each release gets its own tag); remove the :tag',
    })
    .describe('Image name; built images are tagged with the release id, pulled ones with the deployed ref'),
  code: z
    .discriminatedUnion('type', [gitSource.omit({ allowedRefs: true }), copySource], {
      error: 'expected source.code.type to be git or copy',
    })
    .optional()
    .describe(
      "Where each release's files come from (its compose file and build context): a git repository or a staging folder",
    ),
  build: z
    .strictObject({
      context: releasePath.or(z.literal('.')).default('.').describe('Build context, relative to the release'),
      file: releasePath.optional().describe('Dockerfile, relative to the release (default <context>/Dockerfile)'),
    })
    .optional()
    .describe("Build the image from the release's files (needs code), tagged <image>:<release id>"),
  allowedTags: z
    .array(z.string().min(1))
    .optional()
    .describe('Refs that may be deployed (globs allowed): the tag pulled, or the branch/tag of the code built'),
});

const sourceSchema = z.discriminatedUnion('type', [gitSource, copySource, imageSource], {
  error: 'expected source.type to be one of git, copy, image',
});

// ---- services -------------------------------------------------------------------------------------

const nginxProxy = z.strictObject({
  type: z.literal('nginx'),
  upstreamFile: absolutePath.describe(
    "The file Runbook writes `server 127.0.0.1:<port>;` into; include it inside the site's upstream block",
  ),
  test: commandSchema.default(['nginx', '-t']).describe('Checks the configuration before a reload'),
  reload: commandSchema.default(['nginx', '-s', 'reload']).describe('Makes nginx read the new upstream'),
  pidFile: absolutePath
    .default('/run/nginx.pid')
    .describe("nginx's pid file: the switch waits until the workers of the old configuration have finished"),
});
const caddyProxy = z.strictObject({
  type: z.literal('caddy'),
  admin: httpUrl.default('http://localhost:2019').describe("Caddy's admin API"),
  upstreamId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, { error: 'expected the @id of the reverse_proxy handler, such as almareia-web' })
    .describe('The "@id" of the reverse_proxy handler whose upstreams Runbook sets'),
});

const blueGreen = z
  .strictObject({
    ports: z
      .tuple([port, port], { error: 'expected the two ports the releases take turns on, such as [5001, 5002]' })
      .refine(([a, b]) => a !== b, { error: 'expected two different ports' }),
    proxy: z.discriminatedUnion('type', [nginxProxy, caddyProxy], {
      error: 'expected proxy.type to be nginx or caddy',
    }),
    check: z
      .string()
      .regex(/^\//, { error: 'expected a path such as /health' })
      .default('/')
      .describe("Path that must answer 2xx on the new release's port before the proxy switches to it"),
    drain: duration
      .default('2s')
      .describe('How long the old release keeps running after the switch, for requests it is still answering'),
  })
  .describe(
    'Zero-downtime switch: start the new release on the idle port, check it there, point the proxy at it, drain, stop the old one',
  );

const SIZE_HINT = 'expected a size such as 512MiB or 1.5G (1024-based, as systemd reads it)';
const SHARE_HINT = 'expected a share of one CPU core such as 80% or 150%';
const limitsSchema = z
  .strictObject({
    memory: z
      .string({ error: SIZE_HINT })
      .regex(BYTES_PATTERN, { error: SIZE_HINT })
      .optional()
      .describe('Most memory (RSS of all its processes) the service may use during the bake, e.g. 512MiB'),
    cpu: z
      .string({ error: SHARE_HINT })
      .regex(PERCENT_PATTERN, { error: SHARE_HINT })
      .optional()
      .describe('Most CPU the service may use, averaged over one bake interval, as a share of one core: 150%'),
  })
  .describe('Checked during the bake (health.bake); going over rolls the deploy back');
/** Compose and command services cannot be measured here: say so instead of "unknown key". */
const noLimits = z
  .never({ error: 'limits are measured for process and systemd services only; remove them here' })
  .optional();

const processService = z.strictObject({
  name,
  type: z.literal('process'),
  start: commandSchema.describe('With blueGreen, it listens on $PORT or on {{port}} in its arguments'),
  port: port.optional().describe('Port it listens on; its owner is stopped before a start'),
  cwd: z.string().optional(),
  env: envValues.optional(),
  log: z
    .string()
    .optional()
    .describe(
      "Log file, relative to the live folder or absolute (default Runbook's state: <root>/.runbook/logs/<name>.log, or <root>.runbook/logs/<name>.log in place)",
    ),
  stopTimeout: duration.default('10s'),
  blueGreen: blueGreen.optional(),
  limits: limitsSchema.optional(),
});
const systemdService = z.strictObject({
  name,
  type: z.literal('systemd'),
  unit: z.string().min(1),
  user: z.boolean().default(false).describe('Use systemctl --user'),
  sudo: z.boolean().default(false),
  limits: limitsSchema.optional(),
});
const composeService = z.strictObject({
  name,
  type: z.literal('compose'),
  file: z.string().default('docker-compose.yml'),
  project: z.string().optional(),
  services: z.array(z.string().min(1)).min(1),
  published: z
    .record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'expected a compose service name such as postgres' }),
      z.string().regex(/^[^:\s]+:\d+$/, { error: 'expected the published host:port such as 127.0.0.1:5432' }),
    )
    .optional()
    .describe(
      "How the host reaches the project's services: a URL that names the service (postgres://…@postgres:5432/…, as the containers use it) is sent to this published host:port by checks, snapshots, backups and restores run on the host",
    ),
  limits: noLimits,
});
const commandService = z.strictObject({
  name,
  type: z.literal('command'),
  start: commandSchema,
  stop: commandSchema,
  status: commandSchema.optional(),
  cwd: z.string().optional(),
  limits: noLimits,
});

export const serviceSchema = z.discriminatedUnion(
  'type',
  [processService, systemdService, composeService, commandService],
  {
    error: 'expected type to be one of process, systemd, compose, command',
  },
);

// ---- notifications --------------------------------------------------------------------------------

export const NOTIFY_EVENTS = [
  'succeeded',
  'rolled_back',
  'failed',
  'unreachable',
  'deploy.succeeded',
  'deploy.rolled_back',
  'deploy.failed',
  'deploy.unreachable',
  'waiting',
  'deploy.waiting',
  'backup.succeeded',
  'backup.failed',
  'backup.unreachable',
  'restore.succeeded',
  'restore.failed',
  'restore.unreachable',
  'job.summary',
  'job.failed',
  'job.unreachable',
  'drill.succeeded',
  'drill.failed',
  /** The watcher's alerts: a schedule's slot without a successful run by its deadline. */
  'schedule.missed',
  /** A backup much smaller or faster than the recent ones. */
  'backup.suspect',
  /** A target whose newest verified backup is older than its maximum age. */
  'backup.stale',
] as const;

/**
 * What a manifest's notifications select when it does not say: failures, unreachable hosts, a deploy waiting for
 * a decision, and the watcher's alerts.
 */
const DEFAULT_NOTIFY_ON: Array<(typeof NOTIFY_EVENTS)[number]> = [
  'rolled_back',
  'failed',
  'unreachable',
  'waiting',
  'schedule.missed',
  'backup.suspect',
  'backup.stale',
];

const emailChannel = z.strictObject({
  name: z.string().optional(),
  email: z.strictObject({
    via: z.enum(['smtp', 'sendgrid']),
    to: z.array(z.email()).optional(),
    toEnv: envName.optional().describe('Comma-separated recipients, e.g. NOTIFICATION_RECIPIENTS'),
    from: z.email().optional(),
    fromEnv: envName.optional(),
    smtp: z
      .strictObject({
        hostEnv: envName.default('SMTP_HOST'),
        portEnv: envName.default('SMTP_PORT'),
        userEnv: envName.default('SMTP_USER'),
        passwordEnv: envName.default('SMTP_PASSWORD'),
        secure: z.boolean().optional(),
      })
      .optional(),
    apiKeyEnv: envName.default('SENDGRID_API_KEY'),
  }),
});
const webhookChannel = z.strictObject({
  name: z.string().optional(),
  webhook: z.strictObject({
    urlEnv: envName,
    format: z.enum(['json', 'slack']).default('json'),
  }),
});

const notifySchema = z.strictObject({
  on: z
    .array(z.enum(NOTIFY_EVENTS))
    .default(DEFAULT_NOTIFY_ON)
    .describe('Events to send; waiting: a deploy waits for a decision on a failed step (onFailure: ask)'),
  channels: z.array(z.union([emailChannel, webhookChannel])).default([]),
});

// ---- backups --------------------------------------------------------------------------------------

const postgresBackup = z.strictObject({
  name,
  postgres: z.strictObject({
    urlEnv: envName,
    format: z.enum(['custom', 'directory', 'plain']).default('custom'),
    schemas: z.array(z.string().min(1)).default([]).describe('pg_dump -n filters'),
    excludeSchemas: z.array(z.string().min(1)).default([]),
    jobs: z.number().int().min(1).max(64).default(1).describe('Parallel jobs (directory format only)'),
    compress: z.number().int().min(0).max(9).optional(),
  }),
});
const filesBackup = z.strictObject({
  name,
  files: z.strictObject({
    paths: z.array(z.string().min(1)).min(1),
    format: z.enum(['tar.gz', 'zip']).default('tar.gz'),
    exclude: z.array(z.string()).default([]),
  }),
});

const keepSchema = z.strictObject({
  last: z.number().int().min(1).optional(),
  daily: z.number().int().min(0).optional(),
  weekly: z.number().int().min(0).optional(),
  monthly: z.number().int().min(0).optional(),
});

const ageRecipient = z.string().regex(/^age1[a-z0-9]{20,}$/, {
  error: 'expected an age public key such as age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
});

const offsiteSchema = z.strictObject({
  s3: z.strictObject({
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      error: 'expected an S3 bucket name: 3 to 63 lowercase letters, digits, dots and dashes',
    }),
    prefix: z.string().optional().describe("Key prefix of this app's copies (default <app>/)"),
    region: z.string().min(1).default('us-east-1'),
    endpoint: httpUrl.optional().describe('S3-compatible endpoint (MinIO, R2, B2); omit for AWS S3'),
    forcePathStyle: z.boolean().optional().describe('Path-style URLs (default: true when endpoint is set)'),
    accessKeyIdEnv: envName.default('AWS_ACCESS_KEY_ID'),
    secretAccessKeyEnv: envName.default('AWS_SECRET_ACCESS_KEY'),
    sessionTokenEnv: envName.optional(),
    partSizeMb: z.number().int().min(5).max(5120).default(16).describe('Multipart upload part size, in MiB'),
  }),
  targets: z.array(name).optional().describe('Targets copied off-site (default: every target)'),
  keep: keepSchema.optional().describe('Retention of the off-site copies (default: backups.keep)'),
  encrypt: z
    .strictObject({
      recipients: z.array(ageRecipient).min(1).describe('age public keys; only their private keys can read a copy'),
      identityEnv: envName
        .default('RUNBOOK_AGE_IDENTITY')
        .describe('Variable holding the age private key (AGE-SECRET-KEY-1...) on the host that restores'),
    })
    .optional()
    .describe('Encrypt with age before anything leaves the host'),
});

const backupsSchema = z.strictObject({
  dir: absolutePath.optional().describe('Where artifacts live (default <root>/backups)'),
  targets: z.array(z.union([postgresBackup, filesBackup])).default([]),
  keep: keepSchema.default({ last: 7 }),
  verifyRestore: z
    .strictObject({ target: name, sanityQuery: z.string().min(1) })
    .optional()
    .describe('Restore each new dump into a scratch database and run this query'),
  stopServicesOnRestore: z.boolean().default(true),
  offsite: offsiteSchema.optional().describe('Copy verified backups to S3-compatible storage'),
  alerts: z
    .strictObject({
      maxShrink: z
        .number()
        .min(0)
        .max(1)
        .default(0.5)
        .describe('Flag a backup smaller than the median of the recent verified ones by more than this share'),
      minDurationShare: z
        .number()
        .min(0)
        .max(1)
        .default(0.1)
        .describe('Flag a backup that took less than this share of their median time'),
      compareWith: z
        .number()
        .int()
        .min(3)
        .max(100)
        .default(7)
        .describe('How many recent verified backups of the target make the median'),
      maxAge: duration
        .optional()
        .describe(
          "Alert when a target's newest verified backup is older (default: twice the longest gap of its schedule)",
        ),
    })
    .default({ maxShrink: 0.5, minDurationShare: 0.1, compareWith: 7 })
    .describe('When a backup looks wrong (too small, too fast) or the newest is too old'),
  drill: z
    .strictObject({
      targets: z.array(name).optional().describe('Targets drilled (default: every target)'),
      queries: z
        .array(z.string().min(1))
        .default([])
        .describe(
          'Sanity queries run on the restored copy: each must return a row whose first value is not false/null',
        ),
      maxRto: duration.optional().describe('A drill whose restore takes longer fails'),
    })
    .optional()
    .describe('Restore drills: the newest backup restored into a throwaway copy, checked and timed'),
});

// ---- jobs and schedules ---------------------------------------------------------------------------

const jobSchema = z
  .strictObject({
    name,
    description: z.string().optional(),
    run: anyCommand.optional(),
    http: z
      .strictObject({
        url: z.string().min(1).optional().describe('The URL; one holding a credential goes in urlEnv'),
        urlEnv: envName.optional().describe('Variable holding the URL (it may carry a token), read on the host'),
        headersEnv: headersEnv.optional(),
        method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
        body: z.unknown().optional(),
        expect: z.union([z.number().int(), z.array(z.number().int())]).default([200, 201, 202, 204]),
      })
      .optional(),
    shell: z.boolean().optional(),
    cwd: z.string().optional(),
    env: envValues.optional(),
    modes: z.array(z.string().min(1)).optional().describe("Allowed values of {{mode}}, e.g. the guide's --modo"),
    defaultMode: z.string().optional(),
    defaultDate: z.enum(['today', 'yesterday']).default('today'),
    range: z
      .enum(['per-date', 'whole'])
      .default('per-date')
      .describe('A range of dates: one call per date ({{date}}), or one call for the whole range ({{from}}, {{to}})'),
    concurrency: z.number().int().min(1).max(32).default(1),
    timeout: duration.default('30m'),
    retries: z.number().int().min(0).max(20).default(2),
    params: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), paramSpec).default({}),
  })
  .superRefine(checkRunUnlessShell);

const OVERLAP = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;

const scheduleSchema = z.strictObject({
  name,
  cron: z.string().superRefine((cron, ctx) => {
    const fields = cron.trim().split(/\s+/);
    if (fields.length !== 5) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a 5-field cron expression such as "0 7 * * *" (got ${fields.length} fields)`,
      });
      return;
    }
    try {
      CronExpressionParser.parse(cron);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a cron expression such as "0 7 * * *": ${(error as Error).message}`,
      });
    }
  }),
  timezone: z
    .string()
    .default('UTC')
    .refine(isTimeZone, { error: 'expected an IANA time zone such as America/Sao_Paulo' }),
  run: z.enum(['backup', 'job', 'drill']),
  job: name.optional(),
  target: name.optional(),
  mode: z.string().optional(),
  params: z.record(z.string(), z.string()).optional(),
  overlap: z.enum(OVERLAP).default('skip'),
  catchupWindow: duration.default('1d'),
  deadline: duration
    .default('1h')
    .describe('A run for each slot must have succeeded this long after it, or the watcher alerts (missed run)'),
  paused: z.boolean().default(false),
  note: z.string().optional(),
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Phases the approval gate can stand before. */
export const DEPLOY_GATES = ['install', 'migrate', 'build', 'seed', 'switch'] as const;

// ---- the manifest ---------------------------------------------------------------------------------

export type { StepPhase } from '../common/labels';

export const manifestSchema = z
  .strictObject({
    app: name,
    description: z.string().optional(),
    host: name.optional().describe('The host whose worker runs this app (task queue runbook-host-<host>)'),
    hosts: z.array(name).min(1).optional().describe('Several hosts, deployed one after the other'),
    root: absolutePath.describe('Where the app lives: releases/, current, shared/, backups/'),
    strategy: z.enum(['releases', 'in-place']).default('releases'),
    source: sourceSchema,
    env: z
      .strictObject({
        file: z.string().optional().describe('A .env file on the host, read by the worker'),
        required: z.array(envName).default([]),
        pass: z
          .array(envName)
          .optional()
          .describe(
            "Plain settings the app's processes take from the worker's environment when set (PORT); secrets go in required",
          ),
      })
      .default({ required: [] }),
    params: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), paramSpec).default({}),
    shared: z
      .strictObject({
        files: z
          .array(releasePath)
          .default([])
          .describe(
            'Files kept in <root>/shared and linked into every release before its steps run (e.g. .env); each must exist there (or in the first release, which then moves it there)',
          ),
        dirs: z
          .array(releasePath)
          .default([])
          .describe(
            'Folders kept in <root>/shared and linked into every release before its steps run (e.g. logs); created on the first deploy, never pruned',
          ),
      })
      .default({ files: [], dirs: [] })
      .describe("Capistrano's linked_files/linked_dirs: what outlives releases (releases strategy)"),
    dependencies: z.array(checkSchema).default([]).describe('Checked before anything changes'),
    steps: z
      .strictObject({
        preflight: z.array(stepSchema).default([]),
        install: z.array(stepSchema).default([]),
        migrate: z.array(stepSchema).default([]),
        build: z.array(stepSchema).default([]),
        seed: z.array(stepSchema).default([]).describe('Run only when the deploy asks for it (seed: true)'),
      })
      .default({ preflight: [], install: [], migrate: [], build: [], seed: [] }),
    services: z.array(serviceSchema).default([]),
    health: z
      .strictObject({
        within: duration.default('60s'),
        interval: duration.default('2s'),
        checks: z.array(checkSchema).default([]),
        bake: duration
          .optional()
          .describe(
            'After the first passing checks, keep checking this long (checks, services alive, limits) before the release counts as good',
          ),
        bakeInterval: duration.default('10s').describe('How often the bake checks'),
      })
      .default({ within: '60s', interval: '2s', checks: [], bakeInterval: '10s' }),
    snapshot: z
      .strictObject({
        files: z
          .boolean()
          .optional()
          .describe(
            "In place: zip the live folder's code before a deploy, the guide's backup (default true); the automatic rollback uses an exact copy either way. A releases app keeps its previous release instead",
          ),
        exclude: z
          .array(z.string())
          .default([])
          .describe(
            'What the zip leaves out (venv, uploads, logs); the rollback copy keeps it, runbook rollback carries it over',
          ),
        archiveDir: absolutePath
          .optional()
          .describe('Where in-place zips go (default <root>.runbook/archives, beside the live folder)'),
        database: z
          .strictObject({
            urlEnv: envName,
            schemas: z.array(z.string().min(1)).default([]),
          })
          .optional(),
      })
      .default({ exclude: [] }),
    rollback: z
      .strictObject({
        auto: z.boolean().default(true),
        database: z.enum(['never', 'if-migrated', 'always']).default('never'),
      })
      .default({ auto: true, database: 'never' }),
    releases: z.strictObject({ keep: z.number().int().min(2).default(5) }).default({ keep: 5 }),
    unreachableAfter: duration
      .default('2m')
      .describe(
        'How long work for a host waits for a worker there before the run ends as unreachable (its lock released)',
      ),
    approval: z
      .strictObject({
        required: z.boolean().default(false),
        timeout: duration.default('1h'),
        before: z
          .enum(DEPLOY_GATES)
          .default('switch')
          .describe('Where the gate stands: before this phase (switch: after migrate/build/seed, before the restart)'),
      })
      .default({ required: false, timeout: '1h', before: 'switch' }),
    onFailure: z
      .enum(['rollback', 'ask'])
      .default('rollback')
      .describe(
        'A step that fails before the switch: roll back at once, or ask (wait for runbook retry, skip or rollback-now)',
      ),
    decisionTimeout: duration
      .default('1h')
      .describe('How long a deploy waits for a decision (onFailure: ask) or a resume; then it rolls back'),
    notify: notifySchema.default({ on: DEFAULT_NOTIFY_ON, channels: [] }),
    backups: backupsSchema.optional(),
    jobs: z.array(jobSchema).default([]),
    schedules: z.array(scheduleSchema).default([]),
  })
  .superRefine(checkCrossReferences);

type RawManifest = z.output<typeof manifestSchema>;

function checkCrossReferences(m: RawManifest, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

  if (m.host && m.hosts) issue(['hosts'], 'give either host or hosts, not both');
  if (!m.host && !m.hosts) issue(['host'], 'expected the host whose worker runs this app, e.g. host: web-1');
  if (m.strategy === 'in-place' && m.source.type !== 'copy')
    issue(
      ['strategy'],
      'in-place deploys copy files from a staging folder: use source.type copy, or strategy: releases',
    );

  if (m.strategy === 'releases' && m.snapshot.files !== undefined)
    issue(
      ['snapshot', 'files'],
      'a releases app keeps its previous release as its snapshot; snapshot.files (a zip of the live folder) applies to strategy: in-place — remove it',
    );
  if (m.strategy === 'in-place' && (m.shared.files.length > 0 || m.shared.dirs.length > 0))
    issue(['shared'], 'an in-place app keeps every file in its live folder: shared paths apply to strategy: releases');
  const sharedPaths = [...m.shared.files, ...m.shared.dirs];
  sharedPaths.forEach((p, i) => {
    const other = sharedPaths.find((q, j) => j !== i && (q === p || p.startsWith(`${q}/`)));
    if (other !== undefined)
      issue(
        i < m.shared.files.length ? ['shared', 'files', i] : ['shared', 'dirs', i - m.shared.files.length],
        `'${p}' is ${other === p ? 'listed twice' : `inside the shared folder '${other}'`}; list each shared path once`,
      );
  });
  unique(
    m.services.map((s) => s.name),
    ['services'],
    issue,
  );
  m.services.forEach((service, i) => {
    if (service.type !== 'process') return;
    if (service.blueGreen) checkTemplates(service.start, false, ['port'], ['services', i, 'start'], issue);
    else if ((Array.isArray(service.start) ? service.start : [service.start]).some((w) => placeholders(w).length > 0))
      issue(['services', i, 'start'], 'placeholders ({{port}}) are filled only for blueGreen services');
    if (!service.blueGreen) return;
    if (service.port !== undefined)
      issue(['services', i, 'port'], 'with blueGreen the proxy owns the public port: drop port, list blueGreen.ports');
    if (m.strategy !== 'releases')
      issue(['services', i, 'blueGreen'], 'blueGreen needs strategy: releases (each port runs its own release folder)');
  });
  unique(
    m.jobs.map((j) => j.name),
    ['jobs'],
    issue,
  );
  unique(
    m.schedules.map((s) => s.name),
    ['schedules'],
    issue,
  );
  unique(
    (m.backups?.targets ?? []).map((t) => t.name),
    ['backups', 'targets'],
    issue,
  );

  m.services.forEach((service, i) => {
    if ('limits' in service && service.limits && !m.health.bake)
      issue(
        ['services', i, 'limits'],
        'limits are checked during the bake: set health.bake (e.g. 10m), or remove them',
      );
  });
  const bake = m.health.bake ? parseDuration(m.health.bake) : undefined;
  const bakeInterval = parseDuration(m.health.bakeInterval);
  if (bake !== undefined && bakeInterval !== undefined && bakeInterval > bake)
    issue(['health', 'bakeInterval'], `expected at most health.bake (${m.health.bake})`);

  if (m.source.type === 'git' && !m.source.repo === !m.source.repoEnv)
    issue(['source', 'repo'], 'give exactly one of repo (a plain URL or path) or repoEnv (a variable holding it)');
  if (m.source.type === 'image') {
    const code = m.source.code;
    if (code?.type === 'git' && !code.repo === !code.repoEnv)
      issue(
        ['source', 'code', 'repo'],
        'give exactly one of repo (a plain URL or path) or repoEnv (a variable holding it)',
      );
    if (m.source.build && !code)
      issue(
        ['source', 'build'],
        "an image is built from the release's files: add source.code ({ type: git, repo: … } or { type: copy, from: … })",
      );
  }
  m.jobs.forEach((job, i) => {
    if (!job.run === !job.http) issue(['jobs', i], 'a job has exactly one of run (a command) or http (a request)');
    if (job.http && !job.http.url === !job.http.urlEnv)
      issue(['jobs', i, 'http', 'url'], 'give exactly one of url or urlEnv (a variable holding the URL)');
    if (job.defaultMode && job.modes && !job.modes.includes(job.defaultMode))
      issue(['jobs', i, 'defaultMode'], `expected one of the job's modes: ${job.modes.join(', ')}`);
  });

  const stepNames = ['app', 'ref', 'release', 'releaseDir', 'root', ...Object.keys(m.params)];
  for (const phase of STEP_PHASES)
    m.steps[phase].forEach((step, i) => {
      checkTemplates(step.run, step.shell, stepNames, ['steps', phase, i, 'run'], issue);
      step.when?.params.forEach((param, j) => {
        if (!(param in m.params))
          issue(
            ['steps', phase, i, 'when', 'params', j],
            `no param named '${param}' in params; declare it there (known: ${Object.keys(m.params).join(', ') || 'none'})`,
          );
      });
    });
  m.jobs.forEach((job, i) => {
    const jobNames = ['app', 'root', 'date', 'from', 'to', 'mode', 'logicalDate', ...Object.keys(job.params)];
    if (job.run) checkTemplates(job.run, job.shell, jobNames, ['jobs', i, 'run'], issue);
  });

  const targets = new Set((m.backups?.targets ?? []).map((t) => t.name));
  const jobs = new Map(m.jobs.map((j) => [j.name, j]));
  m.schedules.forEach((s, i) => {
    if (s.run === 'job') {
      if (!s.job) issue(['schedules', i, 'job'], 'a schedule with run: job names the job to run');
      else if (!jobs.has(s.job)) issue(['schedules', i, 'job'], `no job named '${s.job}' in jobs`);
      const modes = s.job ? jobs.get(s.job)?.modes : undefined;
      if (s.mode && modes && !modes.includes(s.mode))
        issue(['schedules', i, 'mode'], `expected one of ${modes.join(', ')}`);
    } else {
      if (!m.backups || m.backups.targets.length === 0)
        issue(['schedules', i, 'run'], `run: ${s.run} needs backups.targets in this manifest`);
      if (s.target && !targets.has(s.target)) issue(['schedules', i, 'target'], `no backup target named '${s.target}'`);
    }
  });
  (m.backups?.offsite?.targets ?? []).forEach((t, i) => {
    if (!targets.has(t)) issue(['backups', 'offsite', 'targets', i], `no backup target named '${t}'`);
  });
  (m.backups?.drill?.targets ?? []).forEach((t, i) => {
    if (!targets.has(t)) issue(['backups', 'drill', 'targets', i], `no backup target named '${t}'`);
  });
  if (m.backups?.verifyRestore) {
    const target = m.backups.targets.find((t) => t.name === m.backups?.verifyRestore?.target);
    if (!target || !('postgres' in target))
      issue(['backups', 'verifyRestore', 'target'], 'expected the name of a postgres backup target');
  }
}

function checkTemplates(
  command: string | string[],
  shell: boolean | undefined,
  known: string[],
  path: (string | number)[],
  issue: (path: (string | number)[], message: string) => void,
): void {
  const used = (Array.isArray(command) ? command : [command]).flatMap(placeholders);
  for (const name of used) {
    if (!known.includes(name)) issue(path, `unknown placeholder {{${name}}}; known here: ${known.join(', ')}`);
    else if (shell)
      issue(
        path,
        `{{${name}}} cannot be used with shell: true (a value could inject shell syntax); write an argv list`,
      );
  }
}

function unique(names: string[], path: string[], issue: (path: (string | number)[], message: string) => void): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) issue([...path, i, 'name'], `duplicate name '${n}'; names must be unique`);
    seen.add(n);
  });
}

export type ManifestInput = z.input<typeof manifestSchema>;
export type ParsedManifest = z.output<typeof manifestSchema>;
export type Step = z.output<typeof stepSchema>;
export type Check = z.output<typeof checkSchema>;
export type Service = z.output<typeof serviceSchema>;
export type Job = z.output<typeof jobSchema>;
export type Schedule = z.output<typeof scheduleSchema>;
export type BackupTarget = NonNullable<ParsedManifest['backups']>['targets'][number];
export type NotifyChannel = ParsedManifest['notify']['channels'][number];
export type OffsiteSettings = NonNullable<NonNullable<ParsedManifest['backups']>['offsite']>;
export type ParamSpec = z.output<typeof paramSpec>;
