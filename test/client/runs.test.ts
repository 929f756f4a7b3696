import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { UsageError } from '../../src/client/errors';
import {
  failureText,
  reportFromFailure,
  runStamp,
  startSummary,
  visibilityQuery,
  workflowIdFor,
} from '../../src/client/runs';
import type { RunReport } from '../../src/common/progress';
import { runCli } from '../support/cli';
import { connectClient, uniqueName } from '../support/temporal';

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
