import path from 'node:path';
import { freePort } from '../../src/devserver/ports';
import { runCli } from '../support/cli';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');
const STACK_LINE = /\n\s+at .+:\d+:\d+/;

/**
 * Bad input is exit 2 with one line naming the argument and a hint, before anything connects: the tests point
 * TEMPORAL_ADDRESS at a port where nothing listens, so reaching the server would be exit 3, not 2.
 */
describe('runbook usage errors and an unreachable server', () => {
  let nowhere: Record<string, string>;
  beforeAll(async () => {
    nowhere = { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, RUNBOOK_MANIFESTS: EXAMPLES };
  });

  const usage: Array<[string, string[], RegExp, RegExp | null]> = [
    [
      'an unknown app',
      ['deploy', 'nope', '--ref', 'v1'],
      /error: no manifest for app 'nope' in .*examples/,
      /hint: known apps: almareia, financial-etl, flowlog, orquetask, secretaria/,
    ],
    [
      'a bad app name',
      ['rollback', 'Not_An_App'],
      /error: <app> 'Not_An_App' is not a valid app name/,
      /hint: app names are lowercase/,
    ],
    ['a missing --ref', ['deploy', 'almareia'], /error: required option '--ref <ref>' not specified/, null],
    [
      'an unknown param',
      ['deploy', 'secretaria', '--ref', 'main', '--param', 'tenant=1'],
      /error: --param tenant: app secretaria has no param 'tenant'/,
      /hint: its params are: domain, tenantId, tenantSlug/,
    ],
    [
      'a param not matching its pattern',
      ['deploy', 'secretaria', '--ref', 'main', '--param', 'tenantId=abc'],
      /error: --param tenantId=abc does not match \/\[0-9\]\+\//,
      /hint: tenant to provision/,
    ],
    [
      'a param without a value',
      ['deploy', 'secretaria', '--ref', 'main', '--param', 'tenantId'],
      /error: --param 'tenantId' is not key=value/,
      /hint: write it as --param/,
    ],
    [
      'an unknown job',
      ['job', 'run', 'financial-etl', 'nope'],
      /error: <job> 'nope' is not a job of financial-etl/,
      /hint: its jobs are: daily-processor/,
    ],
    [
      'an unknown mode',
      ['job', 'run', 'financial-etl', 'daily-processor', '--mode', 'yolo'],
      /error: --mode 'yolo' is not a mode of job daily-processor/,
      /hint: its modes are: manual, auto/,
    ],
    [
      'an impossible date',
      ['job', 'run', 'financial-etl', 'daily-processor', '--date', '2025-02-30'],
      /error: --date '2025-02-30' is not a date/,
      /hint: write dates as YYYY-MM-DD/,
    ],
    [
      'half a range',
      ['job', 'run', 'financial-etl', 'daily-processor', '--from', '2025-01-01'],
      /error: --to is missing/,
      /hint: a range needs both --from and --to/,
    ],
    [
      'a date and a range',
      [
        'job',
        'run',
        'financial-etl',
        'daily-processor',
        '--date',
        '2025-01-01',
        '--from',
        '2025-01-01',
        '--to',
        '2025-01-02',
      ],
      /error: --date cannot be combined with --from\/--to/,
      null,
    ],
    [
      'a backwards range',
      ['job', 'run', 'financial-etl', 'daily-processor', '--from', '2025-02-01', '--to', '2025-01-01'],
      /error: --from 2025-02-01 is after --to 2025-01-01/,
      null,
    ],
    [
      'an unknown backup target',
      ['backup', 'almareia', '--target', 'nope'],
      /error: --target 'nope' is not a backup target of almareia/,
      /hint: its targets are: app-folder/,
    ],
    [
      'a backup id that climbs out of the backups folder (the workflow input schema)',
      ['restore', 'almareia', '--backup', '../../etc/passwd'],
      /error: restore input refused: backup: expected a backup id/,
      /hint: fix the named arguments and run again/,
    ],
    [
      'a 300-character ref (the workflow input schema)',
      ['deploy', 'almareia', '--ref', 'v'.repeat(300)],
      /error: deploy input refused: ref: is longer than 200 characters/,
      /hint: fix the named arguments and run again/,
    ],
    [
      'an unknown outcome',
      ['history', '--outcome', 'maybe'],
      /error: --outcome 'maybe' is not an outcome/,
      /hint: use one of: succeeded, rolled_back, failed, cancelled, unreachable, running/,
    ],
    ['a bad limit', ['history', '--limit', '0'], /error: option '--limit <n>' argument '0' is invalid/, null],
    ['a bad --app filter', ['history', '--app', 'x y'], /error: --app 'x y' is not a valid app name/, null],
    ['a bad port', ['dev', '--port', '99999'], /error: option '--port <port>' argument '99999' is invalid/, null],
    ['an unknown command', ['deplo', 'almareia'], /error: unknown command 'deplo'/, null],
  ];

  it.each(usage)('refuses %s with exit 2, one clear line and no stack trace', async (_label, args, message, hint) => {
    const result = await runCli(args, { env: nowhere });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    if (hint) expect(result.stderr).toMatch(hint);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stdout).toBe('');
  });

  it('prints the stack trace only with --verbose', async () => {
    const result = await runCli(['deploy', 'nope', '--ref', 'v1', '--verbose'], { env: nowhere });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(STACK_LINE);
  });

  it('gives scripts a usage error as JSON on stdout', async () => {
    const result = await runCli(['backup', 'almareia', '--target', 'nope', '--json'], { env: nowhere });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        message: "--target 'nope' is not a backup target of almareia",
        hint: 'its targets are: app-folder',
        details: [],
      },
    });
  });

  it.each([
    ['deploy', ['deploy', 'almareia', '--ref', 'v1']],
    ['status', ['status', 'deploy-almareia']],
    ['history', ['history']],
    ['approve', ['approve', 'deploy-almareia']],
    ['inspect', ['inspect', 'almareia']],
    ['worker', ['worker', '--host', 'web-1']],
  ])('%s exits 3 naming the address tried and how to start a dev server', async (_label, args) => {
    const result = await runCli(args, { env: nowhere });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`error: cannot reach Temporal at ${nowhere.TEMPORAL_ADDRESS}`);
    expect(result.stderr).toContain('hint: start a dev server with `runbook dev`');
    expect(result.stderr).not.toMatch(STACK_LINE);
  });
});
