import { Command } from 'commander';
import type { Output } from '../output';
import { startAndFollow } from '../follow';
import { loadAppManifest } from '../manifests';

export function restoreCommand(output: Output): Command {
  return new Command('restore')
    .description('restore a backup artifact of an app (or into a scratch copy to look at it)')
    .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
    .requiredOption('--backup <id>', 'the artifact id, from `runbook backups <app>`')
    .option('--scratch', 'restore into a new scratch database or folder; touch nothing else')
    .option('--no-wait', 'return once the run has started')
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook restore flowlog --backup flowlog-database-20250131T050000Z --scratch\n  $ runbook restore flowlog --backup flowlog-database-20250131T050000Z',
    )
    .action(async (app: string, options: { backup: string; scratch?: boolean; wait: boolean }) => {
      await loadAppManifest(app);
      await startAndFollow(
        output,
        'restore',
        { app, backup: options.backup, ...(options.scratch ? { scratch: true } : {}) },
        `restore ${app} from ${options.backup}${options.scratch ? ' (scratch)' : ''}`,
        { wait: options.wait },
      );
    });
}
