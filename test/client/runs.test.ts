import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { settingsFromEnv } from '../../src/client/connection';
import { UsageError } from '../../src/client/errors';
import {
  failureText,
  reportFromFailure,
  Runs,
  runStamp,
  startSummary,
  visibilityQuery,
  workflowIdFor,
} from '../../src/client/runs';
import type { Progress, RunReport } from '../../src/common/progress';
import { runCli } from '../support/cli';
import { startFixtureWorker } from '../support/fixture-worker';
import { connectClient, uniqueName, type TestWorker } from '../support/temporal';

const NOW = new Date('2026-01-31T07:00:05.123Z');

describe('run client: pure parts', () => {
  it('names runs: the deploy lock for deploy and rollback, a time stamp for the others', () => {
    expect(runStamp(NOW)).toBe('20260131T070005Z');
    expect(workflowIdFor('deploy', { app: 'almareia', ref: 'v2' }, NOW)).toBe('deploy-almareia');
    expect(workflowIdFor('rollback', { app: 'almareia' }, NOW)).toBe('deploy-almareia');
    expect(workflowIdFor('backup', { app: 'flowlog', target: 'database' }, NOW)).toBe(
      'backup-flowlog-database-20260131T070005Z',
    );
    expect(workflowIdFor('restore', { app: 'flowlog', backup: 'x' }, NOW)).toBe('restore-flowlog-20260131T070005Z');
    expect(workflowIdFor('job', { app: 'financial-etl', job: 'daily-processor' }, NOW)).toBe(
      'job-financial-etl-daily-processor-20260131T070005Z',
    );
    expect(workflowIdFor('inspect', { app: 'almareia' }, NOW)).toMatch(
      /^inspect-almareia-20260131T070005Z-[a-z0-9]{1,4}$/,
    );
  });

  it('summarises a run for the Web UI before it ends', () => {
    expect(startSummary('deploy', { app: 'almareia', ref: 'v2' })).toBe('deploy almareia v2');
    expect(
      startSummary('job', {
        app: 'financial-etl',
        job: 'daily-processor',
        from: '2026-01-01',
        to: '2026-01-31',
        mode: 'manual',
      }),
    ).toBe('job financial-etl daily-processor 2026-01-01..2026-01-31 (manual)');
    expect(startSummary('restore', { app: 'flowlog', backup: 'database-1', scratch: true })).toBe(
      'restore flowlog from database-1 (scratch)',
    );
  });

  it('builds the history query from the search attributes, only over Runbook workflow types', () => {
    expect(visibilityQuery({})).toBe("WorkflowType IN ('deploy', 'rollback', 'backup', 'restore', 'drill', 'job')");
    expect(visibilityQuery({ app: 'almareia', outcome: 'rolled_back', kind: 'deploy' })).toBe(
      "WorkflowType = 'deploy' AND App = 'almareia' AND Outcome = 'rolled_back'",
    );
    expect(visibilityQuery({ outcome: 'running' })).toContain("ExecutionStatus = 'Running'");
  });

  it('refuses filters that are not names, so none can change the query', () => {
    expect(() => visibilityQuery({ app: "x' OR App != '" })).toThrow(UsageError);
    expect(() => visibilityQuery({ outcome: 'ok' })).toThrow("--outcome 'ok' is not an outcome");
    expect(() => visibilityQuery({ kind: 'deploys' })).toThrow("--kind 'deploys' is not a run kind");
  });

  it("finds the RunReport in a failed run's failure details, and the message a person can act on", () => {
    const report: RunReport = {
      kind: 'deploy',
      app: 'almareia',
      outcome: 'rolled_back',
      workflowId: 'deploy-almareia',
      runId: 'r1',
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      summary: 'rolled back',
      steps: [],
      error: 'health failed',
    };
    const failure = new WorkflowFailedError(
      'Workflow execution failed',
      ApplicationFailure.nonRetryable('rolled back deploy', 'DeployRolledBack', report),
      RetryState.NON_RETRYABLE_FAILURE,
    );
    expect(reportFromFailure(failure)).toEqual(report);
    expect(failureText(failure)).toBe('rolled back deploy');
    const plain = new WorkflowFailedError(
      'Workflow execution failed',
      ApplicationFailure.nonRetryable("no manifest for app 'x'"),
      RetryState.NON_RETRYABLE_FAILURE,
    );
    expect(reportFromFailure(plain)).toBeUndefined();
    expect(failureText(plain)).toBe("no manifest for app 'x'");
  });
});

describe('run client against a namespace without Runbook’s search attributes', () => {
  it('refuses to start with a usage error that says how to register them', async () => {
    const namespace = uniqueName('bare-namespace');
    const temporal = await connectClient();
    try {
      await temporal.client.connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
    } finally {
      await temporal.close();
    }
    const env = { TEMPORAL_NAMESPACE: namespace, RUNBOOK_MANIFESTS: path.resolve(__dirname, '..', '..', 'examples') };
    let result = await runCli(['deploy', 'almareia', '--ref', 'v1', '--no-wait'], { env });
    // A namespace just registered takes a moment to be found by every service.
    for (let i = 0; i < 20 && /does not exist|not found/.test(result.stderr); i++) {
      await new Promise((r) => setTimeout(r, 500));
      result = await runCli(['deploy', 'almareia', '--ref', 'v1', '--no-wait'], { env });
    }
    expect(result.stderr).toContain(`error: the Temporal namespace '${namespace}' lacks Runbook's search attributes`);
    expect(result.stderr).toContain('hint: register them once: temporal operator search-attribute create --name App');
    expect(result.code).toBe(2);
  });
});

describe('watching a run', () => {
  // Far longer than any test: a watch that waited for its next poll to see the end would never return.
  const AN_HOUR = 3_600_000;
  const taskQueue = uniqueName('watch');
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let runs: Runs;

  beforeAll(async () => {
    worker = await startFixtureWorker(taskQueue);
    temporal = await connectClient();
    runs = new Runs(temporal.client, { ...settingsFromEnv(), taskQueue });
  }, 120_000);
  afterAll(async () => {
    await temporal?.close();
    await worker?.stop();
  });

  it('returns as soon as the run ends, without waiting for its next poll, and shows the final steps last', async () => {
    const polls = jest.spyOn(runs, 'poll');
    const run = await runs.start('backup', { app: uniqueName('watched'), target: 'ok' });
    const seen: Progress[] = [];
    const end = await runs.watch(run, (progress) => seen.push(progress), AN_HOUR);
    expect(end.outcome).toBe('succeeded');
    expect(polls).toHaveBeenCalledTimes(1); // the end was noticed without a second poll
    expect(seen.at(-1)?.steps.map((s) => [s.name, s.status])).toEqual([
      ['dump database', 'succeeded'],
      ['upload archive', 'succeeded'],
      ['prune old archives', 'succeeded'],
    ]);
    polls.mockRestore();
  });

  it('cancels a query still in flight when the run ends, so nothing holds the process open', async () => {
    // The run's worker stops after its first step: a query then waits on the server for a worker that never
    // comes, until its deadline (four poll intervals).
    const queue = uniqueName('worker-gone');
    const gone = await startFixtureWorker(queue);
    const orphaned = new Runs(temporal.client, { ...settingsFromEnv(), taskQueue: queue });
    const run = await orphaned.start('backup', { app: uniqueName('orphaned'), target: 'ok' });
    // Its first workflow task done (the query answered): a query now waits for a worker instead of failing.
    expect(await orphaned.progress(run, 30_000)).toBeDefined();
    await gone.stop();
    const polls = jest.spyOn(orphaned, 'poll');
    const watching = orphaned.watch(run, () => undefined, AN_HOUR);
    while (polls.mock.results.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    let querySettled = false;
    void (polls.mock.results[0].value as Promise<unknown>).finally(() => (querySettled = true));
    await temporal.client.workflow.getHandle(run.workflowId, run.runId).terminate('the test ends it');
    const end = await watching;
    expect(end.status).toBe('TERMINATED');
    // When the watch returns, the held query has ended (cancelled): none is left to run into its deadline.
    expect(querySettled).toBe(true);
    expect(polls).toHaveBeenCalledTimes(1);
  });
});
