import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { log } from '@temporalio/activity';
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
  /** The run id a reset keeps (absent in lines written before it was recorded). */
  originalRunId?: string;
  steps: Array<{ name: string; status: string; durationMs?: number }>;
}

export interface DeployLogRead {
  lines: DeployLogLine[];
  /** Lines that are not a record (cut short by a full disk, edited by hand): skipped, each with why. */
  skipped: string[];
}

/** The deploy log's records; a line that is not one is skipped and named, never a reason to stop reading. */
export function readDeployLogFile(file: string): DeployLogRead {
  const read: DeployLogRead = { lines: [], skipped: [] };
  if (!existsSync(file)) return read;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (!text.trim()) return;
      try {
        const line = JSON.parse(text) as DeployLogLine;
        if (!line || typeof line !== 'object' || typeof line.runId !== 'string') throw new Error('not a run record');
        read.lines.push(line);
      } catch (error) {
        read.skipped.push(`${file}:${index + 1}: ${(error as Error).message}`);
      }
    });
  return read;
}

export function readDeployLog(manifest: Manifest): DeployLogLine[] {
  return readDeployLogFile(appPaths(manifest).deployLog).lines;
}

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
      const existing = readDeployLogFile(file);
      for (const why of existing.skipped) log.warn(`deploy log: skipped a line that is not a record (${why})`);
      const key = report.originalRunId ?? report.runId;
      if (existing.lines.some((line) => (line.originalRunId ?? line.runId) === key && line.kind === report.kind))
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
        ...(report.originalRunId ? { originalRunId: report.originalRunId } : {}),
        steps: report.steps.map((s) => ({ name: s.name, status: s.status, durationMs: s.durationMs })),
      };
      mkdirSync(path.dirname(file), { recursive: true });
      // A line cut short by a crash gets its own line ended first, so the next record is whole.
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      appendFileSync(file, `${text && !text.endsWith('\n') ? '\n' : ''}${JSON.stringify(line)}\n`);
      const skipped = existing.skipped.length;
      return `recorded in ${file}${skipped ? `; skipped ${skipped} line(s) that are not records: ${existing.skipped.join('; ')}` : ''}`;
    },
  };
}
