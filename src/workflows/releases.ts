import type { ReleasesView } from '../activities/releases';
import { hostActivities, orchestration } from './activities';

/** Lists an app's releases on its (first) host: what `runbook releases <app>` shows. Read-only. */
export async function releases(input: { app: string }): Promise<ReleasesView & { app: string; host: string }> {
  const manifest = await orchestration.loadManifest(input.app);
  const host = manifest.hosts[0];
  const view = await hostActivities(manifest, host).describeReleases({ manifest });
  return { app: manifest.app, host, ...view };
}
