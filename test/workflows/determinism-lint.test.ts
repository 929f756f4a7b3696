import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

// The project's own eslint.config.mjs, run as `npm run lint` runs it, on code placed in src/workflows.
describe('lint keeps workflow code deterministic', () => {
  async function problems(code: string): Promise<string[]> {
    const run = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'eslint'),
      ['--stdin', '--stdin-filename', path.join(ROOT, 'src', 'workflows', 'example.ts'), '--format', 'json'],
      { cwd: ROOT, input: code, encoding: 'utf8' },
    );
    const [result] = JSON.parse(run.stdout) as Array<{ messages: Array<{ ruleId: string; message: string }> }>;
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it('refuses Node built-ins, I/O libraries, clocks, randomness and value imports of activities', async () => {
    const found = await problems(
      [
        "import { readFileSync } from 'node:fs';",
        "import { Client } from 'pg';",
        "import { createActivities } from '../activities';",
        'export const a = [readFileSync, Client, createActivities, Date.now(), Math.random(), process.env.X];',
      ].join('\n'),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/no-restricted-imports: 'node:fs'/),
        expect.stringMatching(/no-restricted-imports: 'pg'/),
        expect.stringMatching(/no-restricted-imports: '..\/activities' import is restricted/),
        expect.stringMatching(/no-restricted-properties: 'Date.now'/),
        expect.stringMatching(/no-restricted-properties: 'Math.random'/),
        expect.stringMatching(/no-restricted-globals: Unexpected use of 'process'/),
      ]),
    );
  });

  it('accepts the SDK and type-only imports of activities', async () => {
    const found = await problems(
      [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import type { Activities } from '../activities';",
        'export const p = proxyActivities<Activities>({ startToCloseTimeout: 1000 });',
      ].join('\n'),
    );
    expect(found).toEqual([]);
  });
});
