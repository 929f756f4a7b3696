import os from 'node:os';
import { Command } from 'commander';
import type { Output } from '../output';
import { connect, settingsFromEnv } from '../../client/connection';
import { UsageError } from '../../client/errors';
import { runWorkerProcess } from '../../workers/main';
import { collectHost } from './dev';

interface WorkerOptions {
  host?: string[];
  orchestrate: boolean;
  taskQueue?: string;
}

export function workerCommand(output: Output): Command {
  return new Command('worker')
    .description("run a worker: the workflows (unless --no-orchestrate) and the activities of this machine's hosts")
    .option(
      '--host <host>',
      'run activities of this host, task queue runbook-host-<host> (repeatable; default RUNBOOK_HOSTS or the hostname)',
      collectHost,
    )
    .option('--no-orchestrate', 'run host activities only, no workflows (a second machine of a multi-host setup)')
    .option('--task-queue <queue>', 'the orchestration task queue (default RUNBOOK_TASK_QUEUE or runbook)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook worker --host web-1\n  $ runbook worker --host db-1 --no-orchestrate',
    )
    .action(async (options: WorkerOptions) => {
      const hosts = options.host?.length
        ? options.host
        : (process.env.RUNBOOK_HOSTS ?? os.hostname()).split(',').filter(Boolean);
      if (hosts.length === 0 && !options.orchestrate)
        throw new UsageError(
          'nothing to run: no --host and --no-orchestrate',
          'name a host with --host, or drop --no-orchestrate',
        );
      const settings = settingsFromEnv();
      // Fails fast with exit 3 and the address tried, instead of the worker's retry loop.
      await (await connect(settings)).close();
      await runWorkerProcess(
        {
          address: settings.address,
          namespace: settings.namespace,
          hosts,
          orchestrate: options.orchestrate,
          taskQueue: options.taskQueue ?? settings.taskQueue,
        },
        (line) => output.info(line),
      );
    });
}
