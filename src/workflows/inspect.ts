import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { inspectInputSchema, type AppInput } from '../common/workflow-inputs';
import { validInput } from './input';

const { loadManifest } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3 },
});

export type InspectInput = AppInput;

export interface InspectResult {
  app: string;
  hosts: string[];
  strategy: string;
  source: string;
  services: string[];
  healthChecks: number;
  jobs: string[];
  schedules: string[];
}

/** Loads an app's manifest as the workers see it and summarises it: a safe first run for a new setup. */
export async function inspect(raw: unknown): Promise<InspectResult> {
  const input = validInput(inspectInputSchema, raw);
  const manifest = await loadManifest(input.app);
  return {
    app: manifest.app,
    hosts: manifest.hosts,
    strategy: manifest.strategy,
    source: manifest.source.type,
    services: manifest.services.map((s) => `${s.name} (${s.type})`),
    healthChecks: manifest.health.checks.length,
    jobs: manifest.jobs.map((j) => j.name),
    schedules: manifest.schedules.map((s) => `${s.name}: ${s.cron} ${s.timezone}`),
  };
}
