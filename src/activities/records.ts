import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunReport } from '../common/progress';
import type { Manifest } from '../manifest/types';
import type { ActivityConfig } from './config';
import { appPaths } from '../common/names';

/** One line of the deploy log (<root>/deploy_log.jsonl): what people without UI access read. */
export interface DeployLogLine {
  at: string;
  kind: RunReport['kind'];
  app: string;
  outcome: RunReport['outcome'];
  ref?: string;
  release?: string;
  summary: string;
  error?: string;
  workflowId: string;
  runId: string;
  steps: Array<{ name: string; status: string; durationMs?: number }>;
}

export function readDeployLog(manifest: Manifest): DeployLogLine[] {
  const file = appPaths(manifest).deployLog;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DeployLogLine);
}

export function recordActivities(_config: ActivityConfig) {
  return {
    /** Appends the run's outcome to the app's deploy log on this host, once per run (a retry finds its line). */
    async recordRun(request: { manifest: Manifest; report: RunReport }): Promise<string> {
      const { manifest, report } = request;
      const file = appPaths(manifest).deployLog;
      if (readDeployLog(manifest).some((line) => line.runId === report.runId && line.kind === report.kind))
        return `already recorded in ${file}`;
      const line: DeployLogLine = {
        at: report.finishedAt,
        kind: report.kind,
        app: report.app,
        outcome: report.outcome,
        ref: report.ref,
        release: report.release,
        summary: report.summary,
        error: report.error,
        workflowId: report.workflowId,
        runId: report.runId,
        steps: report.steps.map((s) => ({ name: s.name, status: s.status, durationMs: s.durationMs })),
      };
      mkdirSync(path.dirname(file), { recursive: true });
      appendFileSync(file, `${JSON.stringify(line)}\n`);
      return `recorded in ${file}`;
    },
  };
}
