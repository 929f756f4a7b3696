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

/** What the bake reads of a unit: state, main pid, restarts, memory and CPU used (systemd's own accounting). */
export const SYSTEMD_OBSERVED = ['ActiveState', 'MainPID', 'NRestarts', 'MemoryCurrent', 'CPUUsageNSec'] as const;

export function systemctlShowArgv(target: SystemdTarget): string[] {
  const argv = [
    'systemctl',
    ...(target.user ? ['--user'] : []),
    'show',
    target.unit,
    ...SYSTEMD_OBSERVED.map((p) => `--property=${p}`),
  ];
  return target.sudo ? ['sudo', '-n', ...argv] : argv;
}

/** `systemctl show` output (Key=value lines) as a map; `[not set]` and empty values are left out. */
export function parseSystemctlShow(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const value = line.slice(at + 1).trim();
    if (value && value !== '[not set]' && value !== 'infinity') values[line.slice(0, at)] = value;
  }
  return values;
}
