import { Command } from 'commander';
import type { Output } from '../output';
import { startAndFollow } from '../follow';
import { checkBackupTarget, loadAppManifest } from '../manifests';

export function backupCommand(output: Output): Command {
  return new Command('backup')
    .description("back up an app now: every target of its manifest's backups, or one")
    .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
    .option('--target <name>', 'one of the backups.targets of the manifest (default all)')
    .option('--no-wait', 'return once the run has started')
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook backup flowlog\n  $ runbook backup flowlog --target database --no-wait',
    )
    .action(async (app: string, options: { target?: string; wait: boolean }) => {
      checkBackupTarget(await loadAppManifest(app), options.target, {
        problem: '',
        hint: 'add a postgres or files target under backups: and run again',
      });
      await startAndFollow(
        output,
        'backup',
        { app, ...(options.target ? { target: options.target } : {}) },
        `backup ${app}${options.target ? ` ${options.target}` : ''}`,
        {
          wait: options.wait,
        },
      );
    });
}
