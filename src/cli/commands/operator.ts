/**
 * What an operator tells a running deploy: the Updates it waits for (approve, abort…) and cancel. A run
 * that is not waiting for the decision refuses it with its own reason: exit 2, nothing changed.
 */
import { Command } from 'commander';
import { UPDATES, type UpdateName } from '../../common/contracts';
import type { Output } from '../output';
import { followRun } from '../follow';

interface UpdateCommandSpec {
  update: UpdateName;
  description: string;
  example: string;
  /** Adds the command's own options; `args` turns them into the Update's arguments. */
  options?: (command: Command) => Command;
  args?: (options: Record<string, string | undefined>) => unknown[];
}

function updateCommand(output: Output, spec: UpdateCommandSpec): Command {
  const update = UPDATES[spec.update];
  let command = new Command(update)
    .description(spec.description)
    .argument('<workflow-id>', 'the waiting run, e.g. deploy-almareia')
    .addHelpText('after', `\nExample:\n  $ ${spec.example}`);
  if (spec.options) command = spec.options(command);
  return command.action(async (workflowId: string, options: Record<string, string | undefined>) => {
    const { connect } = await import('../../client/connection');
    const { Runs } = await import('../../client/runs');
    const connected = await connect();
    try {
      const { run, outcome } = await new Runs(connected.client, connected.settings).update(
        workflowId,
        update,
        spec.args?.(options) ?? [],
      );
      output.result({ workflowId, runId: run.runId, url: run.url, ...outcome }, () => [
        `${update} ${workflowId} (${outcome.step}): ${outcome.message}`,
        `  ${run.url}`,
        `  follow it with: runbook status ${workflowId}`,
      ]);
    } finally {
      await connected.close();
    }
  });
}

/** The decisions a waiting or running deploy takes, in the order `runbook --help` lists them. */
const UPDATE_COMMANDS: UpdateCommandSpec[] = [
  {
    update: 'approve',
    description: 'let a deploy waiting at its approval gate go on and switch (refused unless it waits there now)',
    example: 'runbook approve deploy-secretaria',
  },
  {
    update: 'abort',
    description:
      'stop a deploy waiting at its approval gate; it undoes what it did so far (refused unless it waits there now)',
    example: 'runbook abort deploy-secretaria --reason "wrong tenant"',
    options: (command) => command.option('--reason <text>', 'why, for the run report and the notifications'),
    args: (options) => (options.reason === undefined ? [] : [options.reason]),
  },
  {
    update: 'retry',
    description:
      'run the failed step of a deploy waiting for a decision again, once the host is fixed (onFailure: ask)',
    example: 'runbook retry deploy-flowlog',
  },
  {
    update: 'skip',
    description: 'go on without the failed step of a deploy waiting for a decision (only steps marked skippable)',
    example: 'runbook skip deploy-flowlog',
  },
  {
    update: 'rollbackNow',
    description: 'roll back a deploy waiting for a decision now: its undos run, the previous version serves',
    example: 'runbook rollback-now deploy-flowlog',
  },
  {
    update: 'pause',
    description:
      'hold a running deploy before its next step, to look before the switch (at most decisionTimeout, then it rolls back)',
    example: 'runbook pause deploy-almareia',
  },
  {
    update: 'resume',
    description: 'let a paused deploy go on with its next step',
    example: 'runbook resume deploy-almareia',
  },
];

/** One command per Update an operator sends, each built like the others. */
export const updateCommands = UPDATE_COMMANDS.map((spec) => (output: Output) => updateCommand(output, spec));

export function cancelCommand(output: Output): Command {
  return new Command('cancel')
    .description('stop a running deploy (or any run) now: a deploy first undoes what it did, then ends cancelled')
    .argument('<workflow-id>', 'the running run, e.g. deploy-almareia')
    .option('--no-wait', 'return once the cancel was requested')
    .addHelpText('after', '\nExample:\n  $ runbook cancel deploy-almareia')
    .action(async (workflowId: string, options: { wait: boolean }) => {
      const { connect } = await import('../../client/connection');
      const { Runs } = await import('../../client/runs');
      const connected = await connect();
      try {
        const runs = new Runs(connected.client, connected.settings);
        const run = await runs.cancel(workflowId);
        output.info(`cancel requested for ${workflowId}; it undoes what it did, then ends\n  ${run.url}`);
        if (!options.wait) {
          output.result({ ...run, status: 'cancel-requested' }, () => [
            `  follow it with: runbook status ${workflowId}`,
          ]);
          return;
        }
        await followRun(output, runs, run, `${run.kind} ${workflowId}`, { expect: 'cancelled' });
      } finally {
        await connected.close();
      }
    });
}
