import { Command, CommanderError } from 'commander';
import { backupCommand } from './commands/backup';
import { backupsCommand } from './commands/backups';
import { demoCommand } from './commands/demo';
import { deployCommand } from './commands/deploy';
import { devCommand } from './commands/dev';
import { drillCommand } from './commands/drill';
import { historyCommand } from './commands/history';
import { inspectCommand } from './commands/inspect';
import { jobCommand } from './commands/job';
import { cancelCommand, updateCommands } from './commands/operator';
import { planCommand } from './commands/plan';
import { releasesCommand } from './commands/releases';
import { restoreCommand } from './commands/restore';
import { rollbackCommand } from './commands/rollback';
import { scheduleCommand } from './commands/schedule';
import { statusCommand } from './commands/status';
import { validateCommand } from './commands/validate';
import { workerCommand } from './commands/worker';
import { codecServerCommand } from './commands/codec-server';
import { RunFailedError, UnreachableError, UsageError } from '../client/errors';
import { createOutput, type Output } from './output';

/** Exit codes of the `runbook` CLI, one meaning each. */
export const EXIT = { ok: 0, runFailed: 1, usage: 2, unreachable: 3 } as const;

interface GlobalOptions {
  json?: boolean;
  verbose?: boolean;
}

export function buildProgram(output: () => Output): Command {
  const program = new Command('runbook')
    .description('Durable deploys, backups, rollbacks and scheduled jobs on Temporal')
    .option('--json', 'print results as JSON, for scripts')
    .option('--verbose', 'print stack traces of errors')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ runbook dev\n  $ runbook deploy almareia --ref v1.4.2\n  $ runbook history --app almareia --outcome rolled_back\n\nReference: docs/cli.md; Web UI: docs/web-ui.md',
    )
    .exitOverride();

  program.addCommand(validateCommand(output()));
  for (const command of [
    planCommand,
    deployCommand,
    rollbackCommand,
    releasesCommand,
    backupCommand,
    restoreCommand,
    backupsCommand,
    drillCommand,
    jobCommand,
    scheduleCommand,
    inspectCommand,
    statusCommand,
    historyCommand,
    ...updateCommands,
    cancelCommand,
    workerCommand,
    codecServerCommand,
    devCommand,
    demoCommand,
  ])
    program.addCommand(command(output()));
  program.addCommand(
    new Command('schema')
      .description('print the JSON Schema of app manifests (for editor completion)')
      .addHelpText('after', '\nExample:\n  $ runbook schema > manifest.schema.json')
      .action(async () => {
        const { manifestJsonSchema } = await import('../manifest/json-schema');
        process.stdout.write(`${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
      }),
  );
  inheritSettings(program);
  return program;
}

/** addCommand() does not pass exitOverride() on: without it a subcommand's parse error would exit 1 itself. */
function inheritSettings(parent: Command): void {
  for (const command of parent.commands) {
    command.copyInheritedSettings(parent);
    inheritSettings(command);
  }
}

/** The one error handler of the CLI: every failure becomes an exit code and a clear line. */
export async function main(argv: string[]): Promise<void> {
  // `runbook history | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const json = argv.includes('--json');
  const verbose = argv.includes('--verbose');
  let output: Output | undefined;
  const getOutput = () => (output ??= createOutput(json));
  const program = buildProgram(getOutput);
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    await program.parseAsync(argv);
    process.exitCode = EXIT.ok;
  } catch (error) {
    process.exitCode = report(error, { json, verbose } satisfies GlobalOptions);
    // The client's own connection attempt may still be pending (its timeout is longer than the diagnosis):
    // exit once the error is written rather than wait for it.
    if (error instanceof UnreachableError)
      process.stderr.write('', () => process.stdout.write('', () => process.exit()));
  }
}

function report(error: unknown, options: GlobalOptions): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0)
      return EXIT.ok;
    return EXIT.usage; // commander already printed the problem and the help hint
  }
  const { code, message, hint, details } = classify(error);
  if (error instanceof UsageError && error.reportedInResult) return code;
  // A finished run's outcome is already the JSON result; a second document would break `| jq`.
  if (error instanceof RunFailedError && options.json) return code;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ error: { message, hint, details } }, null, 2)}\n`);
  } else {
    for (const line of details) process.stderr.write(`  ${line}\n`);
    process.stderr.write(`error: ${message}\n`);
    if (hint) process.stderr.write(`hint: ${hint}\n`);
  }
  if (options.verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return code;
}

function classify(error: unknown): { code: number; message: string; hint?: string; details: string[] } {
  if (error instanceof UsageError)
    return { code: EXIT.usage, message: error.message, hint: error.hint, details: error.details };
  if (error instanceof UnreachableError)
    return {
      code: EXIT.unreachable,
      message: error.message,
      hint:
        error.hint ?? 'start a dev server with `runbook dev` (or `temporal server start-dev`), or set TEMPORAL_ADDRESS',
      details: [],
    };
  if (error instanceof RunFailedError) return { code: EXIT.runFailed, message: error.message, details: [] };
  const message = error instanceof Error ? error.message : String(error);
  if (/Unknown encoding: binary\/encrypted/.test(message))
    return {
      code: EXIT.usage,
      message: 'the run’s payloads are encrypted and this shell has no key to read them',
      hint: 'set RUNBOOK_CODEC_KEY_<id> (the workers’ keys; docs/production.md, "Encrypted payloads")',
      details: [],
    };
  return { code: EXIT.runFailed, message, hint: 'run again with --verbose for the stack trace', details: [] };
}
