import { Command } from 'commander';
import type { CatalogueEntry, DrillSummary } from '../../activities/catalogue';
import { formatBytes } from '../../common/backup-names';
import { WORKFLOW_TYPES } from '../../common/contracts';
import { RunFailedError } from '../../client/errors';
import { loadAppManifest } from '../manifests';
import type { Output } from '../output';

/** How long the catalogue may take to come back: a worker on the app's host must be running. */
const LIST_TIMEOUT = '1m';

export function backupsCommand(output: Output): Command {
  return new Command('backups')
    .description("list an app's catalogued backups, newest first (read on the app's host by its worker)")
    .argument('<app>', 'the app, as named by its manifest in RUNBOOK_MANIFESTS')
    .addHelpText(
      'after',
      "\nExamples:\n  $ runbook backups orquetask\n  $ runbook backups orquetask --json | jq -r '.[] | select(.verified) | .id' | head -1",
    )
    .action(async (app: string) => {
      await loadAppManifest(app);
      const { WorkflowFailedError } = await import('@temporalio/client');
      const { connect } = await import('../../client/connection');
      const connected = await connect();
      try {
        const { client, settings } = connected;
        let entries: CatalogueEntry[];
        try {
          entries = (await client.workflow.execute(WORKFLOW_TYPES.backups, {
            taskQueue: settings.taskQueue,
            workflowId: `backups-${app}-${Date.now()}`,
            args: [{ app }],
            workflowExecutionTimeout: LIST_TIMEOUT,
          })) as CatalogueEntry[];
        } catch (error) {
          if (!(error instanceof WorkflowFailedError)) throw error;
          const cause = (error.cause?.cause ?? error.cause) as Error | undefined;
          const why = cause?.message ?? error.message;
          throw new RunFailedError(
            /timed out|timeout/i.test(why) || error.cause?.name === 'TimeoutFailure'
              ? `no worker answered within ${LIST_TIMEOUT} on task queue ${settings.taskQueue} and the host queue of ${app}; start one with \`runbook worker\``
              : `could not read the backups of ${app}: ${why}`,
          );
        }
        output.result(entries, () =>
          entries.length === 0
            ? `no backups of ${app} yet; make one with \`runbook backup ${app}\``
            : entries.map(backupLine),
        );
      } finally {
        await connected.close();
      }
    });
}

function drillWords(d: DrillSummary): string {
  const seen =
    d.rows !== undefined ? `${d.tables} tables, ${d.rows} rows` : d.files !== undefined ? `${d.files} files` : '';
  const rto = d.rtoMs !== undefined ? `RTO ${(d.rtoMs / 1000).toFixed(1)}s` : '';
  return d.outcome === 'succeeded'
    ? `drill ✓ ${d.finishedAt.slice(0, 10)} ${[rto, seen].filter(Boolean).join(', ')}`
    : `drill ✗ ${d.finishedAt.slice(0, 10)}: ${d.error ?? 'failed'}`;
}

/** One artifact as on-call reads it: verified or not, where its copies are. */
export function backupLine(e: CatalogueEntry): string {
  const copies = [
    e.localDeletedAt ? 'local copy deleted by retention' : undefined,
    e.offsite
      ? `off-site ${e.offsite.verified ? '✓' : '✗ (not verified)'}${e.offsite.encrypted ? ' encrypted' : ''}`
      : undefined,
  ].filter(Boolean);
  return (
    `${e.verified ? '✓' : '✗'} ${e.id}  ${e.target}  ${e.logicalDate}  ${formatBytes(e.bytes)}` +
    (copies.length > 0 ? `  ${copies.join(', ')}` : '') +
    (e.suspect ? `  ⚠ SUSPECT: ${e.suspect}` : '') +
    (e.lastDrill ? `  ${drillWords(e.lastDrill)}` : '') +
    (e.verified ? '' : `  NOT VERIFIED: ${e.verification ?? ''}`)
  );
}
