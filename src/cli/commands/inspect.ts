import { Command } from 'commander';
import type { Output } from '../output';
import { startAndFollow } from '../follow';
import type { RunResults } from '../../client/runs';

export function inspectLines(r: RunResults['inspect']): string[] {
  return [
    `  ${r.source} → ${r.strategy} on ${r.hosts.join(', ')}`,
    `  services: ${r.services.join(', ') || 'none'}; ${r.healthChecks} health check(s)`,
    `  jobs: ${r.jobs.join(', ') || 'none'}; schedules: ${r.schedules.join('; ') || 'none'}`,
  ];
}

export function inspectCommand(output: Output): Command {
  return new Command('inspect')
    .description("have a worker load and summarise an app's manifest: a safe first run to check a setup")
    .argument('<app>', "the app, as named by its manifest in the workers' RUNBOOK_MANIFESTS")
    .option('--no-wait', 'return once the run has started')
    .addHelpText('after', '\nExample:\n  $ runbook inspect almareia')
    .action(async (app: string, options: { wait: boolean }) => {
      await startAndFollow(output, 'inspect', { app }, `inspect ${app}`, {
        wait: options.wait,
        resultLines: inspectLines,
      });
    });
}
