import { Command, InvalidArgumentError } from 'commander';
import type { Output } from '../output';
import { terminalPalette } from '../follow';
import { historyLines } from '../run-format';
import { HISTORY_KINDS, OUTCOMES, visibilityQuery, type HistoryFilter } from '../../client/history-query';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError('expected a whole number from 1 to 1000.');
  return n;
}

export function historyCommand(output: Output): Command {
  return new Command('history')
    .description('list recent runs, newest first, from Temporal visibility (search attributes App, Outcome)')
    .option('--app <app>', 'only runs of this app')
    .option('--outcome <outcome>', `only runs that ended so: ${[...OUTCOMES, 'running'].join(', ')}`)
    .option('--kind <kind>', `only runs of this kind: ${HISTORY_KINDS.join(', ')}`)
    .option('--limit <n>', 'at most this many runs', positiveInt, 20)
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook history --app almareia --limit 5\n  $ runbook history --outcome rolled_back',
    )
    .action(async (options: HistoryFilter) => {
      visibilityQuery(options); // bad filters are exit 2 before connecting
      const { connect } = await import('../../client/connection');
      const { Runs } = await import('../../client/runs');
      const connected = await connect();
      try {
        const runs = await new Runs(connected.client, connected.settings).list(options);
        output.result(runs, () => historyLines(runs, terminalPalette()));
      } finally {
        await connected.close();
      }
    });
}
