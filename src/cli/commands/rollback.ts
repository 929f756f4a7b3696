import { Command } from 'commander';
import type { Output } from '../output';
import { startAndFollow } from '../follow';
import { loadAppManifest } from '../manifests';

export function rollbackCommand(output: Output): Command {
  return new Command('rollback')
    .description('switch an app back to an earlier good release (default: the one before the current)')
    .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
    .option('--to <release>', 'the release id to go back to (see `runbook releases <app>`)')
    .option('--no-wait', 'return once the run has started')
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook rollback almareia\n  $ runbook rollback almareia --to 20250131T070000Z-v1.4.1',
    )
    .action(async (app: string, options: { to?: string; wait: boolean }) => {
      await loadAppManifest(app);
      await startAndFollow(
        output,
        'rollback',
        { app, ...(options.to ? { to: options.to } : {}) },
        `rollback ${app}${options.to ? ` to ${options.to}` : ''}`,
        {
          wait: options.wait,
        },
      );
    });
}
