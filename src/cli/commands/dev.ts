import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { Output } from '../output';

export function portNumber(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidArgumentError('expected a port number (1-65535).');
  return port;
}

export function collectHost(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

interface DevOptions {
  port: number;
  uiPort: number;
  db?: string;
  host?: string[];
}

export function devCommand(output: Output): Command {
  return new Command('dev')
    .description(
      'run a Temporal dev server (with Web UI) and a worker in one process, for trying Runbook out; Ctrl-C stops both',
    )
    .option('--port <port>', 'gRPC port of the dev server', portNumber, 7233)
    .option('--ui-port <port>', 'port of the Web UI', portNumber, 8233)
    .option('--db <file>', 'keep runs in this SQLite file across restarts (default: in memory)')
    .option(
      '--host <host>',
      'run activities of this host (repeatable; default every host the manifests name, and this machine)',
      collectHost,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook dev\n  $ RUNBOOK_MANIFESTS=examples runbook dev --db .runbook-dev/temporal.db',
    )
    .action(async (options: DevOptions) => {
      const { knownApps, manifestsDirFrom } = await import('../../manifest/lookup');
      const dir = manifestsDirFrom();
      if (options.db) mkdirSync(path.dirname(path.resolve(options.db)), { recursive: true });
      const { startDevEnvironment, stopOnSignals } = await import('../../devserver/dev-environment');
      const environment = await startDevEnvironment({
        port: options.port,
        uiPort: options.uiPort,
        dbFilename: options.db ? path.resolve(options.db) : undefined,
        hosts: options.host,
        manifestsDir: dir,
      });
      stopOnSignals(environment, (line) => process.stderr.write(`${line}\n`));
      const apps = knownApps(dir);
      output.result(
        {
          ...environment.env,
          uiUrl: environment.server.uiUrl,
          taskQueues: environment.taskQueues,
          hosts: environment.hosts,
          apps,
        },
        () => [
          `Temporal dev server at ${environment.server.address} (namespace ${environment.server.namespace})${options.db ? `, runs kept in ${options.db}` : ''}`,
          `Web UI: ${environment.server.uiUrl}`,
          `worker: task queues ${environment.taskQueues.join(', ')}`,
          `manifests: ${dir} (${apps.length > 0 ? apps.join(', ') : 'none yet'})`,
          '',
          'In another terminal:',
          ...Object.entries(environment.env).map(([key, value]) => `  export ${key}=${value}`),
          `  runbook deploy <app> --ref <ref>`,
          '',
          'Ctrl-C stops the worker and the dev server.',
        ],
      );
      await environment.done;
    });
}
