import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The project's own eslint.config.mjs, run as `npm run lint` runs it, on code placed at `file` under src/. */
function problems(file: string, lines: string[]): string[] {
  const run = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'eslint'),
    ['--stdin', '--stdin-filename', path.join(ROOT, 'src', file), '--format', 'json'],
    { cwd: ROOT, input: lines.join('\n'), encoding: 'utf8' },
  );
  const [result] = JSON.parse(run.stdout) as Array<{ messages: Array<{ ruleId: string; message: string }> }>;
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint keeps workflow code deterministic', () => {
  const nondeterministic = [
    "import { readFileSync } from 'node:fs';",
    "import { Client } from 'pg';",
    "import { createActivities } from '../activities';",
    'export const a = [readFileSync, Client, createActivities, Date.now(), Math.random(), process.env.X];',
  ];

  it.each(['workflows/example.ts', 'common/example.ts'])(
    'refuses Node built-ins, I/O libraries, clocks, randomness and value imports of activities in %s',
    (file) => {
      expect(problems(file, nondeterministic)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/no-restricted-imports: 'node:fs'/),
          expect.stringMatching(/no-restricted-imports: 'pg'/),
          expect.stringMatching(/no-restricted-imports: '..\/activities' import is restricted/),
          expect.stringMatching(/no-restricted-properties: 'Date.now'/),
          expect.stringMatching(/no-restricted-properties: 'Math.random'/),
          expect.stringMatching(/no-restricted-globals: Unexpected use of 'process'/),
        ]),
      );
    },
  );

  it.each(['workflows/example.ts', 'common/example.ts'])(
    'accepts the SDK, zod (input schemas) and type-only imports of activities in %s',
    (file) => {
      const found = problems(file, [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import { z } from 'zod';",
        "import type { Activities } from '../activities';",
        'export const p = proxyActivities<Activities>({ startToCloseTimeout: 1000 });',
        'export const s = z.strictObject({ app: z.string() });',
      ]);
      expect(found).toEqual([]);
    },
  );
});

describe('lint keeps the layers apart', () => {
  it.each(['cli/commands/example.ts', 'client/example.ts'])(
    'refuses value imports of activities and workflows in %s',
    (file) => {
      const found = problems(file, [
        "import { stepActivities } from '../../activities/steps';",
        "import { deploy } from '../../workflows';",
        "import { workflowNow } from '../workflows/clock';",
        'export const a = [stepActivities, deploy, workflowNow];',
      ]);
      expect(found).toEqual([
        expect.stringMatching(/no-restricted-imports: '..\/..\/activities\/steps' import is restricted.*import type/),
        expect.stringMatching(/no-restricted-imports: '..\/..\/workflows' import is restricted.*import type/),
        expect.stringMatching(/no-restricted-imports: '..\/workflows\/clock' import is restricted.*import type/),
      ]);
    },
  );

  it.each(['cli/commands/example.ts', 'client/example.ts'])('accepts type-only imports of them in %s', (file) => {
    const found = problems(file, [
      "import type { ReleasesView } from '../../activities/releases';",
      "import type { InspectResult } from '../../workflows/inspect';",
      'export type Both = [ReleasesView, InspectResult];',
    ]);
    expect(found).toEqual([]);
  });

  it('keeps the client library free of the CLI, the dev harness and the workers', () => {
    const found = problems('client/example.ts', [
      "import { createOutput } from '../cli/output';",
      "import { startDevEnvironment } from '../devserver/dev-environment';",
      "import { createWorkers } from '../workers/worker';",
      'export const a = [createOutput, startDevEnvironment, createWorkers];',
    ]);
    expect(found).toEqual([
      expect.stringMatching(/'..\/cli\/output' import is restricted.*never the other way/),
      expect.stringMatching(/'..\/devserver\/dev-environment' import is restricted.*never the other way/),
      expect.stringMatching(/'..\/workers\/worker' import is restricted.*never the other way/),
    ]);
    // The CLI may run a worker (`runbook worker`) and the dev harness (`runbook dev`), loaded by the command
    // that runs them so that `runbook --help` stays fast.
    expect(
      problems('cli/commands/example.ts', [
        'export async function run() {',
        "  const { runWorkerProcess } = await import('../../workers/main');",
        "  const { startDevEnvironment } = await import('../../devserver/dev-environment');",
        '  return [runWorkerProcess, startDevEnvironment];',
        '}',
      ]),
    ).toEqual([]);
    expect(
      problems('cli/commands/example.ts', [
        "import { runWorkerProcess } from '../../workers/main';",
        'export const a = [runWorkerProcess];',
      ]),
    ).toEqual([expect.stringMatching(/'..\/..\/workers\/main' import is restricted.*await import/)]);
  });

  it.each(['activities/example.ts', 'activities/notify/example.ts', 'manifest/example.ts'])(
    'keeps %s free of workflows and the programs',
    (file) => {
      const up = file.split('/').length === 3 ? '../../' : '../';
      const found = problems(file, [
        `import { deploy } from '${up}workflows';`,
        `import { buildProgram } from '${up}cli/cli';`,
        `import { createWorkers } from '${up}workers/worker';`,
        `import { startDevServer } from '${up}devserver/dev-server';`,
        "import { Client } from '@temporalio/client';",
        `import { failure } from '${up}common/failures';`,
        'export const a = [deploy, buildProgram, createWorkers, startDevServer, Client, failure];',
      ]);
      expect(found).toEqual(
        ['workflows', 'cli/cli', 'workers/worker', 'devserver/dev-server'].map((target) =>
          expect.stringMatching(
            new RegExp(`'${up.replace(/\./g, '\\.')}${target}' import is restricted.*never the other way`),
          ),
        ),
      );
    },
  );

  it.each(['workflows/example.ts', 'common/example.ts'])(
    'keeps %s free of the programs even as types, and of client values',
    (file) => {
      const found = problems(file, [
        "import type { Output } from '../cli/output';",
        "import type { WorkerOptions } from '../workers/worker';",
        "import type { DevServer } from '../devserver/dev-server';",
        "import { UsageError } from '../client/errors';",
        "import type { ScheduleReview } from '../client/schedule-outcomes';",
        'export type All = [Output, WorkerOptions, DevServer, ScheduleReview];',
        'export const e = UsageError;',
      ]);
      expect(found).toEqual([
        ...['cli/output', 'workers/worker', 'devserver/dev-server'].map((target) =>
          expect.stringMatching(new RegExp(`'\\.\\./${target}' import is restricted.*never import the programs`)),
        ),
        expect.stringMatching(/'\.\.\/client\/errors' import is restricted.*client types with `import type` only/),
      ]);
    },
  );
});
