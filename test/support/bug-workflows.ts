/**
 * Workflows with a bug in their own code, registered as Runbook's are (failRunsOnErrors), to prove that a
 * TypeError fails the run at once instead of retrying its task forever: `deploy` through failOnBug (the
 * report, deploy log line, record and alert every failed run gets), `bare` without it.
 */
import { described, orchestration } from '../../src/workflows/activities';
import { ProgressTracker } from '../../src/workflows/progress';
import { failOnBug, failRunsOnErrors } from '../../src/workflows/run-guard';

export async function deploy(input: { app: string }): Promise<number> {
  return failOnBug('deploy', input.app, async () => {
    const progress = new ProgressTracker('deploy', input.app);
    const manifest = await progress.run('load manifest', () =>
      described(orchestration.loadManifest, 'load manifest', input.app),
    );
    const missing = (manifest as unknown as { nothing?: { here: number } }).nothing;
    return (missing as { here: number }).here;
  });
}

export async function bare(): Promise<number> {
  const missing = undefined as unknown as { here: number };
  return missing.here;
}

failRunsOnErrors(deploy, bare);
