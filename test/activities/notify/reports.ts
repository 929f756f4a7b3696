import type { RunReport } from '../../../src/common/progress';

/** Reports as the deploy, backup and job workflows finish them, for the notification tests. */
export function deployReport(outcome: RunReport['outcome'], overrides: Partial<RunReport> = {}): RunReport {
  return {
    kind: 'deploy',
    app: 'almareia',
    outcome,
    workflowId: 'deploy-almareia',
    runId: 'run-1',
    startedAt: '2026-01-08T10:00:00.000Z',
    finishedAt: '2026-01-08T10:01:30.000Z',
    summary: outcome === 'succeeded' ? 'v1.4 is live' : 'v1.4 rolled back to v1.3: health check /login answered 500',
    ref: 'v1.4',
    steps: [
      { name: 'snapshot', status: 'succeeded', durationMs: 4_200 },
      { name: 'install requirements', status: 'succeeded', durationMs: 61_000 },
      {
        name: 'health',
        status: outcome === 'succeeded' ? 'succeeded' : 'failed',
        durationMs: 20_000,
        message: outcome === 'succeeded' ? undefined : '/login answered 500 <Internal Server Error>',
      },
      ...(outcome === 'succeeded'
        ? []
        : [{ name: 'restore snapshot', status: 'compensated' as const, durationMs: 2_000 }]),
    ],
    error:
      outcome === 'succeeded'
        ? undefined
        : 'health check /login answered 500 within 60s; the previous release v1.3 is back. See logs/app.log.',
    ...overrides,
  };
}

export function backupReport(outcome: RunReport['outcome']): RunReport {
  return {
    kind: 'backup',
    app: 'financial-etl',
    outcome,
    workflowId: 'backup-financial-etl-audit-20260108T040000Z',
    runId: 'run-2',
    startedAt: '2026-01-08T04:00:00.000Z',
    finishedAt: '2026-01-08T04:00:09.000Z',
    summary: outcome === 'succeeded' ? 'audit: 2.1 MB, restore verified' : 'audit: pg_dump failed',
    steps: [{ name: 'dump audit', status: outcome === 'succeeded' ? 'succeeded' : 'failed', durationMs: 9_000 }],
    error: outcome === 'succeeded' ? undefined : 'pg_dump exited with status 1: connection refused; check DATABASE_URL',
    details: { target: 'audit' },
  };
}

export function jobReport(): RunReport {
  return {
    kind: 'job',
    app: 'financial-etl',
    outcome: 'failed',
    workflowId: 'job-financial-etl-daily-processor-20260108',
    runId: 'run-3',
    startedAt: '2026-01-08T10:00:00.000Z',
    finishedAt: '2026-01-08T10:03:00.000Z',
    summary: '2025-12-01..2025-12-03 (auto): 2 OK, 1 FAILED — failed: 2025-12-02',
    steps: [
      { name: '2025-12-01', status: 'succeeded', durationMs: 1_200, message: 'exit 0' },
      {
        name: '2025-12-02',
        status: 'failed',
        durationMs: 800,
        message: 'daily-processor for 2025-12-02 exited with status 3:\nsource missing',
      },
      { name: '2025-12-03', status: 'succeeded', durationMs: 1_500, message: 'exit 0' },
    ],
    error: '1 of 3 date(s) of daily-processor FAILED: 2025-12-02.',
    details: { job: 'daily-processor', mode: 'auto' },
  };
}
