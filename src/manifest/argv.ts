import { parse } from 'shell-quote';
import { expandArgv } from '../common/template';
import type { Step } from './types';

export type Command = string | string[];

export class CommandSyntaxError extends Error {}

/**
 * Turns a manifest command into an argv array. A string is split like a POSIX shell would split words,
 * but nothing is run through a shell: `$VARS` stay literal and operators (`|`, `&&`, `>`) are refused.
 */
export function commandToArgv(command: Command): string[] {
  if (Array.isArray(command)) return [...command];
  const argv: string[] = [];
  for (const token of parse(command, (name) => `$${name}`)) {
    if (typeof token === 'string') argv.push(token);
    else if ('op' in token && token.op === 'glob') argv.push(token.pattern);
    else if ('comment' in token) break;
    else
      throw new CommandSyntaxError(
        `shell operator '${'op' in token ? token.op : '?'}' is not run by a shell here; write the command as an argv list, or set shell: true on the step`,
      );
  }
  if (argv.length === 0) throw new CommandSyntaxError('empty command');
  return argv;
}

/** The argv a manifest step runs: its words with {{placeholders}} filled, or /bin/sh -c for `shell: true`. */
export function stepArgv(step: Step, values: Record<string, string>): string[] {
  if (step.shell) return ['/bin/sh', '-c', Array.isArray(step.run) ? step.run.join(' ') : step.run];
  return expandArgv(commandToArgv(step.run), values);
}
