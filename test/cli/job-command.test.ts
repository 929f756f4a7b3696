import { rmSync } from 'node:fs';
import type { RunReport } from '../../src/common/progress';
import { runCli } from '../support/cli';
import { createJobApp, type JobApp } from '../support/job-app';
import { startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

jest.setTimeout(120_000);

/** `runbook job run` through the built binary with the real job workflow and a real processor script. */
describe('runbook job run (real job workflow)', () => {
  const taskQueue = uniqueName('job-cli');
  let etl: JobApp;
  let worker: TestWorker;
  let env: Record<string, string>;

  beforeAll(async () => {
    etl = createJobApp({ app: uniqueName('clietl'), host: uniqueName('host'), failDates: ['2025-01-02'] });
    worker = await startTestWorker({ taskQueue, hosts: [etl.host], activities: { manifestsDir: etl.manifestsDir } });
    env = { RUNBOOK_MANIFESTS: etl.manifestsDir, RUNBOOK_TASK_QUEUE: taskQueue };
  });
  afterAll(async () => {
    await worker?.stop();
    if (etl) rmSync(etl.dir, { recursive: true, force: true });
  });

  it('runs one date in the given mode and exits 0, passing the date and mode to the command', async () => {
    const result = await runCli(
      ['job', 'run', etl.app, 'daily-processor', '--date', '2025-01-01', '--mode', 'manual'],
      { env },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^job ${etl.app} daily-processor 2025-01-01 \\(job-${etl.app}-daily-processor-\\d{8}T\\d{6}Z\\)\\n {2}http://\\S+/history\\n`,
      ),
    );
    expect(result.stdout).toMatch(/ {2}✓ 2025-01-01 {2}succeeded/);
    expect(etl.invocations()).toContainEqual([
      '--modo',
      'manual',
      '--data-inicio',
      '2025-01-01',
      '--data-fim',
      '2025-01-01',
    ]);
  });

  it('runs a range one date per step and exits 1 when a date failed, naming it', async () => {
    const result = await runCli(
      ['job', 'run', etl.app, 'daily-processor', '--from', '2025-01-01', '--to', '2025-01-03', '--json'],
      { env },
    );
    expect(result.code).toBe(1);
    const end = JSON.parse(result.stdout) as { outcome: string; error?: string; report: RunReport };
    expect(end.outcome).toBe('failed');
    expect(end.report.steps.map((s) => [s.name, s.status])).toEqual([
      ['2025-01-01', 'succeeded'],
      ['2025-01-02', 'failed'],
      ['2025-01-03', 'succeeded'],
    ]);
    expect(JSON.stringify(end)).toContain('2025-01-02');
  });
});
