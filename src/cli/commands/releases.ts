import { Command } from 'commander';
import type { Output } from '../output';
import { terminalPalette } from '../follow';
import { RunFailedError, UsageError } from '../../client/errors';
import { loadAppManifest } from '../manifests';
import type { Palette } from '../progress-view';
import type { RunResults } from '../../client/runs';

export function releasesLines(view: RunResults['releases'], colors: Palette): string[] {
  if (view.releases.length === 0) return [`${view.app} on ${view.host}: no releases yet`];
  const lines = [`${view.app} on ${view.host}, newest first (* = current):`];
  for (const release of [...view.releases].reverse()) {
    const paint = release.status === 'good' ? colors.ok : release.status === 'bad' ? colors.bad : colors.dim;
    const mark = release.id === view.current ? '*' : ' ';
    lines.push(
      `${mark} ${release.id}  ${paint(release.status.padEnd(5))}  ${release.ref}${release.commit ? ` (${release.commit.slice(0, 10)})` : ''}  ${colors.dim(release.createdAt)}`,
    );
    if (release.note) lines.push(`    ${colors.dim(release.note)}`);
  }
  return lines;
}

export function releasesCommand(output: Output): Command {
  return new Command('releases')
    .description("list an app's releases on its host: id, ref, good/bad, which one is current (for rollback --to)")
    .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
    .addHelpText('after', '\nExample:\n  $ runbook releases orquetask')
    .action(async (app: string) => {
      const manifest = await loadAppManifest(app);
      if (manifest.strategy !== 'releases')
        throw new UsageError(
          `${app} deploys in place: it keeps no releases`,
          `its snapshots are backups: runbook backups ${app}`,
        );
      const { connect } = await import('../../client/connection');
      const { Runs } = await import('../../client/runs');
      const connected = await connect();
      try {
        const runs = new Runs(connected.client, connected.settings);
        const end = await runs.result(await runs.start('releases', { app }));
        const view = end.result;
        if (end.outcome !== 'succeeded' || !view)
          throw new RunFailedError(`listing releases of ${app} failed: ${end.error ?? end.outcome} (${end.url})`);
        output.result(view, () => releasesLines(view, terminalPalette()));
      } finally {
        await connected.close();
      }
    });
}
