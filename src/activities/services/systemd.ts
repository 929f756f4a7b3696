import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Service } from '../../manifest/types';
import {
  daemonReloadArgv,
  dropInPath,
  installFileArgv,
  parseSystemctlShow,
  systemctlArgv,
  systemctlShowArgv,
  unitName,
} from '../commands/systemctl';
import { appPaths } from '../../common/names';
import { describeFailure, runCommand } from '../shell';
import type { ServiceContext, ServiceManager } from './types';
import { failure } from '../../common/failures';

type SystemdService = Extract<Service, { type: 'systemd' }>;

const DROP_IN = 'runbook-environment.conf';

async function run(argv: string[], service: SystemdService, context: ServiceContext): Promise<string> {
  const result = await runCommand({ argv, env: context.env, redact: context.redact, timeoutMs: 120_000 });
  if (result.exitCode !== 0)
    throw failure(
      'ServiceCommandFailed',
      `${describeFailure(result, argv.join(' '))}\ncheck the unit with: journalctl -u ${service.unit} -n 50`,
    );
  return `${argv.join(' ')}: ok`;
}

/** The drop-in that points the unit at the app's environment file (env.file's values and required names). */
export function environmentDropIn(envFile: string): string {
  return `# Written by Runbook: the app's environment (env.file and env.required) for this unit.\n[Service]\nEnvironmentFile=${envFile}\n`;
}

/**
 * Gives the unit the app's environment through a drop-in naming Runbook's environment file, installed (and
 * systemd reloaded) only when it is missing or differs, so a restart of an unchanged unit does no more.
 */
async function ensureEnvironment(service: SystemdService, context: ServiceContext): Promise<string | undefined> {
  if (!context.envFile) return undefined;
  const userConfig = context.env.XDG_CONFIG_HOME || path.join(context.env.HOME || os.homedir(), '.config');
  const destination = dropInPath(service, DROP_IN, userConfig);
  const text = environmentDropIn(context.envFile);
  if (existsSync(destination) && readFileSync(destination, 'utf8') === text) return undefined;
  const staged = path.join(appPaths(context.manifest).stateDir, 'env', `${unitName(service.unit)}.${DROP_IN}`);
  mkdirSync(path.dirname(staged), { recursive: true });
  writeFileSync(staged, text);
  await run(installFileArgv(service, staged, destination), service, context);
  await run(daemonReloadArgv(service), service, context);
  return `environment drop-in ${destination}`;
}

/** systemd units: the unit's ExecStart points at <root>/current, so a restart after the switch runs the new release. */
export const systemdManager: ServiceManager<SystemdService> = {
  async start(service, context) {
    const environment = await ensureEnvironment(service, context);
    const restarted = await run(systemctlArgv('restart', service), service, context);
    return environment ? `${environment}; ${restarted}` : restarted;
  },
  stop: (service, context) => run(systemctlArgv('stop', service), service, context),
  async isRunning(service, context) {
    const result = await runCommand({ argv: systemctlArgv('is-active', service), env: context.env, timeoutMs: 30_000 });
    return result.exitCode === 0;
  },

  async observe(service, context) {
    const argv = systemctlShowArgv(service);
    const result = await runCommand({ argv, env: context.env, redact: context.redact, timeoutMs: 30_000 });
    if (result.exitCode !== 0) throw failure('ServiceObserveFailed', describeFailure(result, argv.join(' ')));
    const unit = parseSystemctlShow(result.stdoutTail);
    const restarts = unit.NRestarts ?? '0';
    return {
      running: unit.ActiveState === 'active',
      instance: `${unit.MainPID ?? '0'}/${restarts}`,
      describe: `MainPID ${unit.MainPID ?? '0'}, ${restarts} restart(s)`,
      ...(unit.MemoryCurrent ? { memoryBytes: Number(unit.MemoryCurrent) } : {}),
      ...(unit.CPUUsageNSec ? { cpuSeconds: Number(unit.CPUUsageNSec) / 1e9 } : {}),
    };
  },
};
