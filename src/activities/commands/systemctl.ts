/** argv for systemd units; `sudo -n` never prompts, so a missing sudoers rule fails fast instead of hanging. */
export interface SystemdTarget {
  unit: string;
  user?: boolean;
  sudo?: boolean;
}

export type SystemctlVerb = 'start' | 'stop' | 'restart' | 'is-active';

export function systemctlArgv(verb: SystemctlVerb, target: SystemdTarget): string[] {
  const argv = ['systemctl', ...(target.user ? ['--user'] : []), verb, target.unit];
  return target.sudo ? ['sudo', '-n', ...argv] : argv;
}
