import { Command } from 'commander';
import type { Output } from '../output';
import { connect } from '../../client/connection';
import { Runs } from '../../client/runs';

function signalCommand(output: Output, signal: 'approve' | 'abort', description: string, example: string): Command {
  const command = new Command(signal)
    .description(description)
    .argument('<workflow-id>', 'the run waiting at its approval gate, e.g. deploy-almareia')
    .addHelpText('after', `\nExample:\n  $ ${example}`);
  if (signal === 'abort') command.option('--reason <text>', 'why, for the run report and the notifications');
  return command.action(async (workflowId: string, options: { reason?: string }) => {
    const connected = await connect();
    try {
      const run = await new Runs(connected.client, connected.settings).signal(workflowId, signal, options.reason);
      output.result({ workflowId, runId: run.runId, signal, url: run.url }, () => [
        `sent ${signal} to ${workflowId}`,
        `  ${run.url}`,
        `  follow it with: runbook status ${workflowId}`,
      ]);
    } finally {
      await connected.close();
    }
  });
}

export function approveCommand(output: Output): Command {
  return signalCommand(
    output,
    'approve',
    'let a deploy waiting at its approval gate go on and switch',
    'runbook approve deploy-secretaria',
  );
}

export function abortCommand(output: Output): Command {
  return signalCommand(
    output,
    'abort',
    'stop a deploy waiting at its approval gate; it undoes what it did so far',
    'runbook abort deploy-secretaria --reason "wrong tenant"',
  );
}
