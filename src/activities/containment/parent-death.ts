import { existsSync } from 'node:fs';

let setprivPath: string | null | undefined;

/**
 * `argv` started so that it dies the instant its parent dies (`setpriv --pdeathsig KILL`, util-linux): the
 * forker with the worker, a command with the worker or forker that started it. The rest of a command's tree
 * is ended by the worker's reaper.
 */
export function withParentDeathSignal(argv: string[]): string[] {
  if (setprivPath === undefined) {
    setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  }
  return setprivPath ? [setprivPath, '--pdeathsig', 'KILL', '--', ...argv] : argv;
}
