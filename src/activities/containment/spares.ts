import { joinCgroupThenReadArgv } from './cgroups';
import { forkDetached, type CommandProcess } from './forker';
import { withParentDeathSignal } from './parent-death';

/*
 * Moving a process into a cgroup waits for the kernel's RCU grace period (10-20 ms on a busy host, more than
 * a no-op step's whole command), and forking the worker, a big process, costs milliseconds more. A spare is a
 * shell started ahead of time, between commands, by the worker's forker (forker.ts: no fork of the worker at
 * all), that has already moved itself into an idle cgroup of the worker's and waits on stdin for the script
 * that makes it the next command (one exec). It dies with the worker like any command (parent-death signal
 * through the forker, the reaper), and its cgroup is the command's from then on.
 */

export interface Spare {
  child: CommandProcess;
  cgroup: string;
}

/** Starts a spare in `cgroup` (made by the caller); it does not keep the worker's event loop alive. */
export function startSpare(cgroup: string): Spare {
  const child = forkDetached(withParentDeathSignal(joinCgroupThenReadArgv(cgroup)));
  child.unref();
  return { child, cgroup };
}

/** Makes the spare the command: hands it the script and returns its process, from now on the command's. */
export function launchSpare(spare: Spare, script: string): CommandProcess {
  spare.child.ref();
  spare.child.stdin?.end(script);
  return spare.child;
}

/**
 * Ends a spare nobody will use; resolves once it has exited. Until then it keeps the event loop alive again:
 * a process awaiting the exit of a child it does not reference could end first, mid-shutdown.
 */
export function discardSpare(spare: Spare): Promise<void> {
  // A spare still starting is killed as soon as its pid is known; the forker reports every exit.
  const running = spare.child.exitCode === null && spare.child.signalCode === null;
  const exited = running
    ? new Promise<void>((resolve) => spare.child.once('exit', () => resolve()))
    : Promise.resolve();
  spare.child.ref();
  spare.child.stdin?.destroy();
  spare.child.stdout?.destroy();
  spare.child.stderr?.destroy();
  spare.child.kill('SIGKILL');
  return exited;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The script a spare runs to become `argv` in `cwd` with exactly `env` (it started with an empty
 * environment; the `cd` it runs sets PWD and OLDPWD, which are unset again), or undefined when `env` has a
 * name the shell cannot export (then the command is spawned the usual way). Pure.
 */
export function spareScript(argv: string[], env: NodeJS.ProcessEnv, cwd: string | undefined): string | undefined {
  const entries = Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (entries.some(([name]) => !NAME.test(name))) return undefined;
  const lines = [
    ...(cwd ? [`cd -P -- ${quote(cwd)} || exit 125`] : []),
    'unset PWD OLDPWD',
    ...(entries.length > 0 ? [`export ${entries.map(([name, value]) => quote(`${name}=${value}`)).join(' ')}`] : []),
    `exec ${argv.map(quote).join(' ')}`,
  ];
  return `${lines.join('\n')}\n`;
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
