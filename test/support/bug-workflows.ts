/**
 * Workflows with a bug in their own code, registered as Runbook's are (failRunsOnErrors), to prove that a
 * TypeError fails the run at once instead of retrying its task forever: `deploy` through failOnBug (the
 * report, deploy log line, record and alert every failed run gets), `bare` without it.
 */
import type { RunReport } from '../../src/common/progress';
import { beginRun, loadManifest } from '../../src/workflows/run';
import { failOnBug, failRunsOnErrors } from '../../src/workflows/run-guard';

export async function deploy(input: { app: string }): Promise<RunReport> {
  return failOnBug('deploy', input.app, async () => {
    const manifest = await loadManifest(beginRun('deploy', input.app));
    const missing = (manifest as unknown as { nothing?: { report: RunReport } }).nothing;
    return (missing as { report: RunReport }).report;
  });
}

export async function bare(): Promise<number> {
  const missing = undefined as unknown as { here: number };
  return missing.here;
}

failRunsOnErrors('PINNED', deploy, bare);
