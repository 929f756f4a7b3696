import path from 'node:path';
import { commandToArgv } from '../../manifest/argv';
import type { Service } from '../../manifest/types';
import { describeFailure, runCommand } from '../shell';
import type { ServiceContext, ServiceManager } from './types';
import { failure } from '../../common/failures';

type CommandService = Extract<Service, { type: 'command' }>;

async function run(
  command: string | string[],
  service: CommandService,
  context: ServiceContext,
  what: string,
): Promise<{ ok: boolean; message: string }> {
  const argv = commandToArgv(command);
  const result = await runCommand({
    argv,
    cwd: service.cwd ? path.resolve(context.dir, service.cwd) : context.dir,
    env: { ...context.env, RUNBOOK_RELEASE: context.release ?? '' },
    redact: context.redact,
    timeoutMs: 300_000,
  });
  return {
    ok: result.exitCode === 0,
    message:
      result.exitCode === 0
        ? `${service.name} ${what}: ok`
        : describeFailure(result, `${service.name} ${what} (${argv.join(' ')})`),
  };
}

/** Custom start/stop/status commands, for whatever the other managers do not cover. */
export const commandManager: ServiceManager<CommandService> = {
  async start(service, context) {
    const { ok, message } = await run(service.start, service, context, 'start');
    if (!ok) throw failure('ServiceCommandFailed', message);
    return message;
  },
  async stop(service, context) {
    const { ok, message } = await run(service.stop, service, context, 'stop');
    if (!ok) throw failure('ServiceCommandFailed', message);
    return message;
  },
  async isRunning(service, context) {
    if (!service.status) return false;
    return (await run(service.status, service, context, 'status')).ok;
  },
};
