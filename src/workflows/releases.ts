import type { ReleasesView } from '../activities/releases';
import { releasesInputSchema } from '../common/workflow-inputs';
import { hostActivities, orchestration } from './activities';
import { validInput } from './input';

/** Lists an app's releases on its (first) host: what `runbook releases <app>` shows. Read-only. */
export async function releases(raw: unknown): Promise<ReleasesView & { app: string; host: string }> {
  const input = validInput(releasesInputSchema, raw);
  const manifest = await orchestration.loadManifest(input.app);
  const host = manifest.hosts[0];
  const view = await hostActivities(manifest, host).describeReleases({ manifest });
  return { app: manifest.app, host, ...view };
}
