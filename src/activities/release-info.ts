import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../manifest/types';
import { writeFileAtomic } from './atomic-write';

export type ReleaseStatus = 'ready' | 'good' | 'bad';

/** What Runbook knows of one release, kept in <release>/.runbook/release.json. */
export interface ReleaseInfo {
  id: string;
  ref: string;
  commit?: string;
  source: Manifest['source']['type'];
  createdAt: string;
  workflowId: string;
  runId: string;
  status: ReleaseStatus;
  /** Why a release is bad (the failure that rolled it back). */
  note?: string;
}

const INFO_FILE = path.join('.runbook', 'release.json');

export function readReleaseInfo(dir: string): ReleaseInfo | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, INFO_FILE), 'utf8')) as ReleaseInfo;
  } catch {
    return undefined;
  }
}

export async function writeReleaseInfo(dir: string, info: ReleaseInfo): Promise<void> {
  await writeFileAtomic(path.join(dir, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
}
