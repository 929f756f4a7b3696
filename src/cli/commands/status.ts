import { Command } from 'commander';
import type { Output } from '../output';
import { terminalPalette } from '../follow';
import { statusLines } from '../run-format';

export function statusCommand(output: Output): Command {
  return new Command('status')
    .description('show one run: its steps (live while it runs), outcome, error and Web UI link')
    .argument('<workflow-id>', 'the workflow id a starting command printed, e.g. deploy-almareia')
    .addHelpText('after', '\nExample:\n  $ runbook status deploy-almareia')
    .action(async (workflowId: string) => {
      const { connect } = await import('../../client/connection');
      const { Runs } = await import('../../client/runs');
      const connected = await connect();
      try {
        const run = await new Runs(connected.client, connected.settings).describe(workflowId);
        output.result(run, () => statusLines(run, Date.now(), terminalPalette()));
      } finally {
        await connected.close();
      }
    });
}
