import { Command } from 'commander';
import type { Output } from '../output';
import { connect } from '../../client/connection';
import { terminalPalette } from '../follow';
import { statusLines } from '../run-format';
import { Runs } from '../../client/runs';

export function statusCommand(output: Output): Command {
  return new Command('status')
    .description('show one run: its steps (live while it runs), outcome, error and Web UI link')
    .argument('<workflow-id>', 'the workflow id a starting command printed, e.g. deploy-almareia')
    .addHelpText('after', '\nExample:\n  $ runbook status deploy-almareia')
    .action(async (workflowId: string) => {
      const connected = await connect();
      try {
        const run = await new Runs(connected.client, connected.settings).describe(workflowId);
        output.result(run, () => statusLines(run, Date.now(), terminalPalette()));
      } finally {
        await connected.close();
      }
    });
}
