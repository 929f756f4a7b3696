import { Command } from 'commander';
import type { Output } from '../output';
import { startAndFollow } from '../follow';
import { checkBackupTarget, loadAppManifest } from '../manifests';

export function drillCommand(output: Output): Command {
  return new Command('drill')
    .description(
      'restore drill: the newest backup of each target into a throwaway copy, checked, timed (RTO) and recorded',
    )
    .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
    .option('--target <name>', 'one of the backups.targets of the manifest (default backups.drill.targets, or all)')
    .option('--no-wait', 'return once the run has started')
    .addHelpText('after', '\nExamples:\n  $ runbook drill orquetask\n  $ runbook drill orquetask --target database')
    .action(async (app: string, options: { target?: string; wait: boolean }) => {
      checkBackupTarget(await loadAppManifest(app), options.target, {
        problem: ': nothing to drill',
        hint: 'add a postgres or files target under backups:, back it up, then drill it',
      });
      await startAndFollow(
        output,
        'drill',
        { app, ...(options.target ? { target: options.target } : {}) },
        `drill ${app}${options.target ? ` ${options.target}` : ''}`,
        { wait: options.wait },
      );
    });
}
