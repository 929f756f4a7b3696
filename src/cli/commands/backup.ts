import { Command } from 'commander';
import type { Output } from '../output';
import { UsageError } from '../../client/errors';
import { startAndFollow } from '../follow';
import { loadAppManifest } from '../manifests';

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
      const manifest = await loadAppManifest(app);
      const targets = manifest.backups?.targets.map((t) => t.name) ?? [];
      if (targets.length === 0)
        throw new UsageError(
          `app ${app} has no backups.targets in its manifest`,
          'add a postgres or files target under backups: and run again',
        );
      if (options.target && !targets.includes(options.target))
        throw new UsageError(
          `--target '${options.target}' is not a backup target of ${app}`,
          `its targets are: ${targets.join(', ')}`,
        );
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
