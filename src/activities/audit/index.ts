import { log } from '@temporalio/activity';
import { runUrl } from '../../common/names';
import type { RunReport } from '../../common/progress';
import type { ActivityConfig } from '../config';
import { recordRunMetrics, workerMeter } from '../metrics';
import { auditDatabase } from './database';
import {
  endJobSession,
  insertJobSession,
  upsertJobOperation,
  upsertRun,
  type JobOperation,
  type JobSession,
  type JobSessionEnd,
} from './records';

export type { JobOperation, JobSession, JobSessionEnd } from './records';

export interface AuditResult {
  /** False when the worker has no RUNBOOK_DATABASE_URL: the run's history is then its only record. */
  recorded: boolean;
}

/**
 * Records runs in Runbook's own PostgreSQL schema. Every write is keyed by workflow id, run id (and date),
 * so a retried activity writes the same row again instead of a second one.
 */
export function auditActivities(config: ActivityConfig) {
  async function withDatabase(
    what: string,
    write: (db: Awaited<ReturnType<typeof auditDatabase>>) => Promise<void>,
  ): Promise<AuditResult> {
    if (!config.databaseUrl) {
      log.debug(`no RUNBOOK_DATABASE_URL: ${what} not recorded in a database`);
      return { recorded: false };
    }
    await write(await auditDatabase(config.databaseUrl));
    return { recorded: true };
  }

  return {
    /** Opens a job run's session; returns the run's Web UI link for its records and summary. */
    async openJobSession(session: Omit<JobSession, 'url'>): Promise<AuditResult & { url: string }> {
      const url = runUrl(config.uiUrl, config.namespace, session.workflowId, session.runId);
      const result = await withDatabase('job session', (db) => insertJobSession(db, { ...session, url }));
      return { ...result, url };
    },

    async recordJobOperation(request: { session: JobSession; operation: JobOperation }): Promise<AuditResult> {
      return withDatabase('job operation', (db) => upsertJobOperation(db, request.session, request.operation));
    },

    async closeJobSession(request: { session: JobSession; end: JobSessionEnd }): Promise<AuditResult> {
      return withDatabase('job session end', (db) => endJobSession(db, request.session, request.end));
    },

    /** Any workflow's finished run, for people who read SQL rather than the Web UI. */
    async recordRunInDatabase(report: RunReport): Promise<AuditResult> {
      // Every workflow records its end here: the place to count it on the worker's metrics endpoint too.
      recordRunMetrics(workerMeter(), report);
      return withDatabase('run', (db) => upsertRun(db, report));
    },
  };
}
