import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { Service } from '../../manifest/types';
import { composePsArgv, composeStopArgv, composeUpArgv, type ComposeTarget } from '../commands/compose';
import { releaseEnvironment } from '../images';
import { describeFailure, runCommand } from '../shell';
import type { ServiceContext, ServiceManager } from './types';

type ComposeService = Extract<Service, { type: 'compose' }>;

/** A release carries its compose file; an image app without `code` keeps it in the app root. */
function target(service: ComposeService, context: ServiceContext): ComposeTarget {
  const source = context.manifest.source;
  const base = source.type === 'image' && !source.code ? context.manifest.root : context.dir;
  return {
    file: path.isAbsolute(service.file) ? service.file : path.join(base, service.file),
    project: service.project ?? context.manifest.app,
    services: service.services,
    envFile: context.envFile,
  };
}

/** The release's image reaches the compose file as ${IMAGE_TAG} / ${RUNBOOK_IMAGE}: a rollback runs the previous one. */
function composeEnv(context: ServiceContext): NodeJS.ProcessEnv {
  const release = context.release && context.ref ? { id: context.release, ref: context.ref } : undefined;
  return {
    ...context.env,
    RUNBOOK_RELEASE: context.release ?? '',
    ...releaseEnvironment(context.manifest, release),
  };
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
    throw ApplicationFailure.nonRetryable(
      `${describeFailure(result, argv.join(' '))}\ninspect with: docker compose -f ${service.file} logs --tail 50`,
      'ServiceCommandFailed',
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
