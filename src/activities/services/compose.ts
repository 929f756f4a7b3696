import path from 'node:path';
import type { Service } from '../../manifest/types';
import { composePsArgv, composeStopArgv, composeUpArgv, type ComposeTarget } from '../commands/compose';
import { describeFailure, runCommand } from '../shell';
import type { ServiceContext, ServiceManager } from './types';
import { failure } from '../../common/failures';

type ComposeService = Extract<Service, { type: 'compose' }>;

/** Image releases hold no files: their compose file lives in the app root; other releases carry their own. */
function target(service: ComposeService, context: ServiceContext): ComposeTarget {
  const base = context.manifest.source.type === 'image' ? context.manifest.root : context.dir;
  return {
    file: path.isAbsolute(service.file) ? service.file : path.join(base, service.file),
    project: service.project ?? context.manifest.app,
    services: service.services,
    envFile: context.envFile,
  };
}

function composeEnv(context: ServiceContext): NodeJS.ProcessEnv {
  const source = context.manifest.source;
  // Image releases pass their tag to the compose file as ${IMAGE_TAG} / ${RUNBOOK_IMAGE}.
  const image =
    source.type === 'image' && context.ref
      ? { RUNBOOK_IMAGE: `${source.image}:${context.ref}`, IMAGE_TAG: context.ref }
      : {};
  return { ...context.env, RUNBOOK_RELEASE: context.release ?? '', ...image };
}

async function compose(argv: string[], service: ComposeService, context: ServiceContext): Promise<string> {
  const result = await runCommand({
    argv,
    cwd: context.dir,
    env: composeEnv(context),
    redact: context.redact,
    timeoutMs: 600_000,
  });
  if (result.exitCode !== 0)
    throw failure(
      'ServiceCommandFailed',
      `${describeFailure(result, argv.join(' '))}\ninspect with: docker compose -f ${service.file} logs --tail 50`,
    );
  return `${argv.join(' ')}: ok`;
}

/** Docker Compose services of one compose file: `up -d` recreates containers whose image or config changed. */
export const composeManager: ServiceManager<ComposeService> = {
  start: (service, context) => compose(composeUpArgv(target(service, context)), service, context),
  stop: (service, context) => compose(composeStopArgv(target(service, context)), service, context),
  async isRunning(service, context) {
    const result = await runCommand({
      argv: composePsArgv(target(service, context)),
      cwd: context.dir,
      env: composeEnv(context),
      timeoutMs: 60_000,
    });
    return (
      result.exitCode === 0 && result.stdoutTail.trim().split('\n').filter(Boolean).length >= service.services.length
    );
  },
};
