import { Command, CommanderError } from 'commander';
import { validateCommand } from './commands/validate';
import { EXIT, RunFailedError, UnreachableError, UsageError } from './errors';
import { createOutput, type Output } from './output';
import { manifestJsonSchema } from '../manifest/json-schema';
import { backupsCommand } from './commands/backups';
import { scheduleCommand } from './commands/schedule';

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
    .exitOverride();

  program.addCommand(validateCommand(output()));
  program.addCommand(
    new Command('schema')
      .description('print the JSON Schema of app manifests (for editor completion)')
      .addHelpText('after', '\nExample:\n  $ runbook schema > manifest.schema.json')
      .action(() => {
        process.stdout.write(`${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
      }),
  );
  program.addCommand(scheduleCommand(output()));
  program.addCommand(backupsCommand(output()));
  return program;
}

/** The one error handler of the CLI: every failure becomes an exit code and a clear line. */
export async function main(argv: string[]): Promise<void> {
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
  }
}

function report(error: unknown, options: GlobalOptions): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.ok;
    return EXIT.usage; // commander already printed the problem and the help hint
  }
  const { code, message, hint, details } = classify(error);
  if (error instanceof UsageError && error.reportedInResult) return code;
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
  if (error instanceof UsageError) return { code: EXIT.usage, message: error.message, hint: error.hint, details: error.details };
  if (error instanceof UnreachableError)
    return {
      code: EXIT.unreachable,
      message: error.message,
      hint: 'start a dev server with `runbook dev` (or `temporal server start-dev`), or set TEMPORAL_ADDRESS',
      details: [],
    };
  if (error instanceof RunFailedError) return { code: EXIT.runFailed, message: error.message, details: [] };
  const message = error instanceof Error ? error.message : String(error);
  return { code: EXIT.runFailed, message, hint: 'run again with --verbose for the stack trace', details: [] };
}
