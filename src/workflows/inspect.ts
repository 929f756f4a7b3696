import { inspectInputSchema, type AppInput } from '../common/workflow-inputs';
import { orchestration } from './activities';
import { validInput } from './input';

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
  const manifest = await orchestration.loadManifest(input.app);
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
