/** argv for systemd units; `sudo -n` never prompts, so a missing sudoers rule fails fast instead of hanging. */
export interface SystemdTarget {
  unit: string;
  user?: boolean;
  sudo?: boolean;
}

export type SystemctlVerb = 'start' | 'stop' | 'restart' | 'is-active';

function asAsked(target: Pick<SystemdTarget, 'sudo'>, argv: string[]): string[] {
  return target.sudo ? ['sudo', '-n', ...argv] : argv;
}

export function systemctlArgv(verb: SystemctlVerb, target: SystemdTarget): string[] {
  return asAsked(target, ['systemctl', ...(target.user ? ['--user'] : []), verb, target.unit]);
}

/** Makes systemd read changed unit files and drop-ins. */
export function daemonReloadArgv(target: Pick<SystemdTarget, 'user' | 'sudo'>): string[] {
  return asAsked(target, ['systemctl', ...(target.user ? ['--user'] : []), 'daemon-reload']);
}

/** The unit's full name: systemd's own default suffix when the manifest gives none (`flowlog-web`). */
export function unitName(unit: string): string {
  return /\.[a-z]+$/.test(unit) ? unit : `${unit}.service`;
}

/** Where a drop-in for `unit` lives: the system's /etc/systemd/system, or the user's config for --user units. */
export function dropInPath(target: SystemdTarget, name: string, userConfigHome: string): string {
  const base = target.user ? `${userConfigHome}/systemd/user` : '/etc/systemd/system';
  return `${base}/${unitName(target.unit)}.d/${name}`;
}

/** Copies a file Runbook wrote into place (creating folders), through sudo when the unit is managed so. */
export function installFileArgv(target: Pick<SystemdTarget, 'sudo'>, source: string, destination: string): string[] {
  return asAsked(target, ['install', '-D', '-m', '0644', source, destination]);
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
  return asAsked(target, argv);
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
