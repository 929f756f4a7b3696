import type { Service } from '../../manifest/types';
import { parseSystemctlShow, systemctlArgv, systemctlShowArgv } from '../commands/systemctl';
import { describeFailure, runCommand } from '../shell';
import type { ServiceContext, ServiceManager } from './types';
import { failure } from '../../common/failures';

type SystemdService = Extract<Service, { type: 'systemd' }>;

async function systemctl(
  verb: 'start' | 'stop' | 'restart',
  service: SystemdService,
  context: ServiceContext,
): Promise<string> {
  const argv = systemctlArgv(verb, service);
  const result = await runCommand({ argv, env: context.env, redact: context.redact, timeoutMs: 120_000 });
  if (result.exitCode !== 0)
    throw failure(
      'ServiceCommandFailed',
      `${describeFailure(result, argv.join(' '))}\ncheck the unit with: journalctl -u ${service.unit} -n 50`,
    );
  return `${argv.join(' ')}: ok`;
}

/** systemd units: the unit's ExecStart points at <root>/current, so a restart after the switch runs the new release. */
export const systemdManager: ServiceManager<SystemdService> = {
  start: (service, context) => systemctl('restart', service, context),
  stop: (service, context) => systemctl('stop', service, context),
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
