import { Command } from 'commander';
import type { Output } from '../output';
import { UsageError } from '../../client/errors';
import { startAndFollow } from '../follow';
import { loadAppManifest } from '../manifests';

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
      const manifest = await loadAppManifest(app);
      const targets = manifest.backups?.targets.map((t) => t.name) ?? [];
      if (targets.length === 0)
        throw new UsageError(
          `app ${app} has no backups.targets in its manifest: nothing to drill`,
          'add a postgres or files target under backups:, back it up, then drill it',
        );
      if (options.target && !targets.includes(options.target))
        throw new UsageError(
          `--target '${options.target}' is not a backup target of ${app}`,
          `its targets are: ${targets.join(', ')}`,
        );
      await startAndFollow(
        output,
        'drill',
        { app, ...(options.target ? { target: options.target } : {}) },
        `drill ${app}${options.target ? ` ${options.target}` : ''}`,
        { wait: options.wait },
      );
    });
}
