import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { log } from '@temporalio/activity';
import type { RunReport } from '../common/progress';
import type { Manifest } from '../manifest/types';
import type { ActivityConfig } from './config';
import { appPaths } from '../common/names';
import { appendDeployLogLine, appendedAt, scanDeployLog, type DeployLogLine } from './deploy-log';

/**
 * How far the worker's clock (which stamps `recordedAt`) may be behind the workflow's (which stamps a run's
 * end) before a record could be missed by its own retry.
 */
const CLOCK_SLACK_MS = 60 * 60 * 1000;

/** An in-place app's log moves once from inside the live folder (where a restore rewound it) to beside it. */
function moveFormerLog(manifest: Manifest): void {
  const { deployLog, formerDeployLog } = appPaths(manifest);
  if (!formerDeployLog || existsSync(deployLog) || !existsSync(formerDeployLog)) return;
  mkdirSync(path.dirname(deployLog), { recursive: true });
  renameSync(formerDeployLog, deployLog);
}

export function recordActivities(_config: ActivityConfig) {
  return {
    /** Appends the run's outcome to the app's deploy log on this host, once per run (a retry finds its line). */
    async recordRun(request: { manifest: Manifest; report: RunReport }): Promise<string> {
      const { manifest, report } = request;
      const file = appPaths(manifest).deployLog;
      moveFormerLog(manifest);
      const key = report.originalRunId ?? report.runId;
      // Lines are appended in the order they are recorded and no attempt of this record precedes the run's
      // end: an earlier attempt's line is among those appended since.
      const since = Date.parse(report.finishedAt) - CLOCK_SLACK_MS;
      let recorded = false;
      const { skipped } = await scanDeployLog(
        file,
        (line) => {
          if ((line.originalRunId ?? line.runId) === key && line.kind === report.kind) return (recorded = true);
          return appendedAt(line) < since;
        },
        { appendedSince: since },
      );
      for (const why of skipped) log.warn(`deploy log: skipped a line that is not a record (${why})`);
      if (recorded) return `already recorded in ${file}`;
      const line: DeployLogLine = {
        at: report.finishedAt,
        recordedAt: new Date().toISOString(),
        kind: report.kind,
        app: report.app,
        outcome: report.outcome,
        ref: report.ref,
        release: report.release,
        summary: report.summary,
        error: report.error,
        workflowId: report.workflowId,
        runId: report.runId,
        ...(report.originalRunId ? { originalRunId: report.originalRunId } : {}),
        steps: report.steps.map((s) => ({ name: s.name, status: s.status, durationMs: s.durationMs })),
      };
      await appendDeployLogLine(file, line);
      return `recorded in ${file}${skipped.length ? `; skipped ${skipped.length} line(s) that are not records: ${skipped.join('; ')}` : ''}`;
    },
  };
}
