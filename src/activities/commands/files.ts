/** Copies a folder's whole content (modes, times, symlinks) into a new folder: `cp -a <from>/. <to>`. */
export function copyTreeArgv(from: string, to: string): string[] {
  return ['cp', '-a', '--', `${from.replace(/\/+$/, '')}/.`, to];
}
