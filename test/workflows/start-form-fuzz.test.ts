import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

/**
 * What an operator can type into the Web UI's start form, for every workflow type: at least 40 malformed
 * inputs each, started against the real dev server. Each run fails in its first workflow task (no activity,
 * no failed task) as a non-retryable BadInput naming the field; the app's lock is free and nothing on disk
 * changed afterwards.
 */

const NAMES: unknown[] = [
  null,
  0,
  42,
  true,
  [],
  ['almareia'],
  {},
  '',
  ' ',
  'A',
  'Almareia',
  '-app',
  '--help',
  '../etc',
  'a/../b',
  'a/b',
  '.',
  '..',
  'a..b',
  'a b',
  'a\nb',
  'a\u0000b',
  'a\tb',
  'a\u007fb',
  'ünïcødé',
  'é',
  '\u202eabc',
  '😀',
  'a'.repeat(64),
  'a'.repeat(3_000),
  'a_b',
  'a.b',
  '$(id)',
  '`id`',
  'a;b',
  "a'b",
  '*',
  '~root',
  'a%2F..%2F',
];
const IDS: unknown[] = [
  null,
  7,
  false,
  [],
  {},
  '',
  '-x',
  '--help',
  '../x',
  'a/b',
  'a..b',
  'a b',
  'a\u0000',
  'ü',
  'x'.repeat(201),
  'x'.repeat(3_000),
];
const REFS: unknown[] = [
  null,
  1,
  true,
  [],
  {},
  '',
  '-v1',
  '--upload-pack=touch /tmp/x',
  'a..b',
  '../x',
  'v 1',
  'v\n1',
  'v\u0000',
  'ü',
  'v'.repeat(201),
  'v'.repeat(3_000),
  '$(id)',
  'a;b',
  'a|b',
  '~1',
  'v1^',
  'v1:x',
];
const FLAGS: unknown[] = ['true', 'false', 'yes', 1, 0, null, [], {}, 'TRUE', ''];
const DATES: unknown[] = [
  '2025-13-01',
  '2025-02-30',
  '20250101',
  '2025-1-1',
  '1/2/2025',
  2025,
  null,
  [],
  {},
  '',
  '2025-01-01T00:00:00Z',
  'x'.repeat(3_000),
  '0000-01-01',
];
const PARAMS: unknown[] = [
  null,
  'tenantId=42',
  42,
  [],
  ['42'],
  { tenantId: 42 },
  { tenantId: null },
  { tenantId: true },
  { '-x': 'v' },
  { '../x': 'v' },
  { tenantId: '-rf' },
  { tenantId: '--all' },
  { tenantId: 'x'.repeat(1_001) },
  { tenantId: '4\u00002' },
  { [`k${'x'.repeat(100)}`]: 'v' },
  Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`p${i}`, 'v'])),
];
const MODES: unknown[] = [null, 1, '', '-x', '../x', 'a b', 'm'.repeat(65), ['auto']];
const ZONES: unknown[] = ['Mars/Olympus', '', 1, null, '../etc/localtime', 'x'.repeat(3_000), 'UTC; DROP TABLE'];
const WHOLE: unknown[] = [null, 42, 'almareia', [], true, ['almareia']];

interface Case {
  input: unknown;
  field: string;
}

/** Every bad value of one field, over a valid base input: the message must name that field. */
function each(base: Record<string, unknown>, field: string, values: unknown[]): Case[] {
  return values.map((value) => ({ input: { ...base, [field]: value }, field }));
}

function whole(base: Record<string, unknown>): Case[] {
  return [
    ...WHOLE.map((input) => ({ input, field: 'input' })),
    { input: {}, field: 'app' },
    { input: { ...base, extra: 1 }, field: 'extra' },
    { input: { ...base, App: base.app }, field: 'App' },
    { input: { ...base, 'ü\u0000': 1 }, field: 'ü?' },
  ];
}

describe('start-form fuzz: every workflow type refuses malformed input at once (real dev server)', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    temporal = await connectClient();
    fx = await createAppFixture({ name: 'fuzz' });
    Object.assign(fx.manifest, {
      params: { tenantId: { pattern: '[0-9]+' } },
      backups: { dir: `${fx.dir}/backups`, targets: [{ name: 'files', files: { paths: [fx.root] } }] },
      jobs: [{ name: 'report', run: ['true'], cwd: fx.dir, modes: ['manual', 'auto'], defaultMode: 'manual' }],
    });
    fx.save();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
  });

  function casesOf(type: string): Case[] {
    const app = { app: fx.app };
    switch (type) {
      case 'deploy': {
        const base = { app: fx.app, ref: 'v1' };
        return [
          ...whole(base),
          ...each(base, 'app', NAMES.slice(0, 12)),
          ...each(base, 'ref', REFS),
          ...each(base, 'params', PARAMS),
          ...each(base, 'seed', FLAGS),
          ...each(base, 'requireApproval', FLAGS.slice(0, 5)),
        ];
      }
      case 'rollback':
        return [...whole(app), ...each(app, 'app', NAMES), ...each(app, 'to', IDS)];
      case 'backup':
        return [...whole(app), ...each(app, 'app', NAMES), ...each(app, 'target', NAMES.slice(0, 20))];
      case 'restore': {
        const base = { app: fx.app, backup: `${fx.app}-files-20250101T000000Z` };
        return [
          ...whole(base),
          { input: app, field: 'backup' },
          ...each(base, 'app', NAMES.slice(0, 10)),
          ...each(base, 'backup', IDS),
          ...each(base, 'scratch', FLAGS),
        ];
      }
      case 'job': {
        const base = { app: fx.app, job: 'report' };
        return [
          ...whole(base),
          ...each(base, 'app', NAMES.slice(0, 8)),
          ...each(base, 'job', NAMES.slice(0, 12)),
          ...each(base, 'date', DATES),
          ...each({ ...base, to: '2025-01-02' }, 'from', DATES),
          ...each(base, 'mode', MODES),
          ...each(base, 'params', PARAMS.slice(0, 8)),
          ...each(base, 'timezone', ZONES),
          { input: { ...base, from: '1000-01-01', to: '9999-12-31' }, field: 'to' },
          { input: { ...base, from: '2025-01-01', to: '2026-01-03' }, field: 'to' },
          { input: { ...base, from: '2025-02-01', to: '2025-01-01' }, field: 'to' },
          { input: { ...base, from: '2025-01-01' }, field: 'to' },
          { input: { ...base, to: '2025-01-01' }, field: 'from' },
          { input: { ...base, date: '2025-01-01', from: '2025-01-01', to: '2025-01-02' }, field: 'date' },
        ];
      }
      default:
        return [...whole(app), ...each(app, 'app', NAMES)];
    }
  }

  function diskState(): string[] {
    const entries: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const file = path.join(dir, name);
        const stat = statSync(file);
        entries.push(`${file} ${stat.size} ${stat.mtimeMs}`);
        if (stat.isDirectory()) walk(file);
      }
    };
    walk(fx.dir);
    return entries;
  }

  async function settle(handle: WorkflowHandle): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 15_000)));
    const outcome = await Promise.race([
      handle.result().then(
        () => 'completed',
        (error: unknown) => error,
      ),
      stuck,
    ]);
    clearTimeout(timer);
    if (outcome === 'still running') await handle.terminate('test: the run did not settle').catch(() => undefined);
    return outcome;
  }

  /** What went wrong with one case, or undefined when it failed at once as a BadInput naming its field. */
  async function check(type: string, { input, field }: Case, workflowId: string): Promise<string | undefined> {
    const handle = await temporal.client.workflow.start(type, { taskQueue: fx.taskQueue, workflowId, args: [input] });
    const outcome = await settle(handle);
    const failure = outcome instanceof WorkflowFailedError ? outcome.cause : undefined;
    if (!(failure instanceof ApplicationFailure) || failure.type !== 'BadInput' || !failure.nonRetryable)
      return `ended with ${outcome instanceof Error ? `${outcome.message}: ${String((outcome.cause as Error)?.message)}` : String(outcome)}`;
    if (!failure.message.includes(field)) return `BadInput does not name '${field}': ${failure.message}`;
    const history = await handle.fetchHistory();
    const events = (history.events ?? []).map((e) => String(e.eventType));
    const failedTasks = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
    const activities = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
    if (failedTasks > 0 || activities > 0)
      return `not refused in its first workflow task: ${failedTasks} failed task(s), ${activities} activity(ies) (${events.length} events)`;
    if ((await handle.describe()).status.name !== 'FAILED') return 'not FAILED';
    return undefined;
  }

  /** Runs checks `limit` at a time: the starts go in parallel, as many operators would. */
  async function checkAll(jobs: Array<() => Promise<string | undefined>>, limit: number) {
    const problems: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: limit }, async () => {
        while (next < jobs.length) {
          const problem = await jobs[next++]();
          if (problem) problems.push(problem);
        }
      }),
    );
    return problems;
  }

  const describeCase = (type: string, c: Case) => `${type} ${JSON.stringify(c.input)?.slice(0, 80)} (field ${c.field})`;

  it.each(['deploy', 'rollback'])(
    "%s: every malformed input fails on the app's lock id, which is free after each",
    async (type) => {
      const before = diskState();
      const cases = casesOf(type);
      expect(cases.length).toBeGreaterThanOrEqual(40);
      // One at a time on the lock's id, as the start form would: each start finds the lock free.
      const problems = await checkAll(
        cases.map((c) => async () => {
          const problem = await check(type, c, appLockWorkflowId(fx.app));
          return problem && `${describeCase(type, c)}: ${problem}`;
        }),
        1,
      );
      expect(problems).toEqual([]);
      expect((await temporal.client.workflow.getHandle(appLockWorkflowId(fx.app)).describe()).status.name).toBe(
        'FAILED',
      );
      expect(diskState()).toEqual(before);
    },
  );

  it.each(['backup', 'restore', 'job', 'inspect', 'releases', 'backups'])(
    '%s: every malformed input fails at once',
    async (type) => {
      const before = diskState();
      const cases = casesOf(type);
      expect(cases.length).toBeGreaterThanOrEqual(40);
      const problems = await checkAll(
        cases.map((c) => async () => {
          const problem = await check(type, c, uniqueName(`fuzz-${type}`));
          return problem && `${describeCase(type, c)}: ${problem}`;
        }),
        8,
      );
      expect(problems).toEqual([]);
      expect(diskState()).toEqual(before);
    },
  );
});
