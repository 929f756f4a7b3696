import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporalCli } from './temporal';

/** Where replay histories live; `RUNBOOK_RECORD_HISTORIES=1` lets tests that make them write new ones. */
export const HISTORIES = path.resolve(__dirname, '..', 'fixtures', 'histories');

export const recordingHistories = (): boolean => Boolean(process.env.RUNBOOK_RECORD_HISTORIES);

/**
 * Writes a finished run's history as `<name>.json`, in the proto3 JSON form the replay script reads, unless
 * that history is recorded already: a recorded history is never overwritten.
 */
export function saveHistory(name: string, workflowId: string, runId: string): void {
  const file = path.join(HISTORIES, `${name}.json`);
  if (existsSync(file)) return;
  const json = temporalCli(['workflow', 'show'], ['--workflow-id', workflowId, '--run-id', runId, '--output', 'json']);
  writeFileSync(file, json, { flag: 'wx' });
}

/** A run's whole event history as readable text: every payload decoded, for "is X anywhere in history?". */
export async function historyText(client: Client, workflowId: string, runId?: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const decode = (value: unknown): unknown => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (Array.isArray(value)) return value.map(decode);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
    return value;
  };
  return JSON.stringify(decode(history));
}
