import { Command } from 'commander';
import type { Output } from '../output';
import type { WorkerFlags } from '../../workers/options';
import { collectHost } from './dev';

export function workerCommand(output: Output): Command {
  return new Command('worker')
    .description("run a worker: the workflows (unless --no-orchestrate) and the activities of this machine's hosts")
    .option(
      '--host <host>',
      'run activities of this host, task queue runbook-host-<host> (repeatable; default RUNBOOK_HOSTS or the hostname)',
      collectHost,
    )
    .option(
      '--no-orchestrate',
      'run host activities only, no workflows (a second machine of a multi-host setup; RUNBOOK_ORCHESTRATE=false)',
    )
    .option('--task-queue <queue>', 'the orchestration task queue (default RUNBOOK_TASK_QUEUE or runbook)')
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics (SDK and Runbook) on http://host:port/metrics (default RUNBOOK_METRICS_ADDRESS; docs/metrics.md)',
    )
    .option(
      '--build-id <id>',
      'Worker Versioning: the build id of this Runbook installation, e.g. its version (default RUNBOOK_BUILD_ID; unset: unversioned)',
    )
    .option(
      '--deployment <name>',
      'the worker deployment the build belongs to (default RUNBOOK_DEPLOYMENT_NAME or the task queue)',
    )
    .addHelpText(
      'after',
      [
        '',
        'The same as `node dist/workers/main.js` (the systemd unit and the image run that): flags win over',
        'RUNBOOK_HOSTS (or RUNBOOK_HOST), RUNBOOK_ORCHESTRATE and RUNBOOK_TASK_QUEUE; the connection comes from',
        'TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, TEMPORAL_API_KEY or a TEMPORAL_PROFILE (docs/production.md).',
        '',
        'With a build id, a worker whose version is new makes it current once every task queue has a poller of it:',
        'new runs start on it; deploys, rollbacks and restores finish on the version they started on (pinned);',
        'backups, jobs and listings move to the current version. Upgrading: docs/production.md.',
        '',
        'Examples:',
        '  $ runbook worker --host web-1',
        '  $ runbook worker --host db-1 --no-orchestrate',
        '  $ RUNBOOK_BUILD_ID=0.2.0 runbook worker --host web-1',
      ].join('\n'),
    )
    .action(async (flags: WorkerFlags & { orchestrate: boolean }) => {
      // commander sets orchestrate=true unless --no-orchestrate: only `false` is a flag the user gave.
      const { workerOptionsFromEnv } = await import('../../workers/options');
      const { runWorkerProcess } = await import('../../workers/process');
      const options = workerOptionsFromEnv({ ...flags, orchestrate: flags.orchestrate ? undefined : false });
      await runWorkerProcess(options, (line) => output.info(line));
    });
}
