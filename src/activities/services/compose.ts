import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Service } from '../../manifest/types';
import { composePsArgv, composeStopArgv, composeUpArgv, type ComposeTarget } from '../commands/compose';
import { releaseEnvironment } from '../images';
import { describeFailure, runCommand } from '../shell';
import type { ServiceContext, ServiceManager } from './types';
import { failure } from '../../common/failures';

type ComposeService = Extract<Service, { type: 'compose' }>;

function target(service: ComposeService, context: ServiceContext): ComposeTarget {
  return {
    file: path.resolve(composeDir(context), service.file),
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

/** Where compose runs: the folder of the release (or app root) that holds the compose file. */
function composeDir(context: ServiceContext): string {
  const source = context.manifest.source;
  return source.type === 'image' && !source.code ? context.manifest.root : context.dir;
}

async function compose(argv: string[], service: ComposeService, context: ServiceContext): Promise<string> {
  const result = await runCommand({
    argv,
    cwd: composeDir(context),
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
  stop(service, context) {
    // Before the first release there is no compose file, and nothing of this app to stop.
    const file = target(service, context).file;
    if (!existsSync(file)) return Promise.resolve(`${service.file}: not deployed here yet, nothing to stop`);
    return compose(composeStopArgv(target(service, context)), service, context);
  },
  async isRunning(service, context) {
    if (!existsSync(target(service, context).file)) return false;
    const result = await runCommand({
      argv: composePsArgv(target(service, context)),
      cwd: composeDir(context),
      env: composeEnv(context),
      timeoutMs: 60_000,
    });
    return (
      result.exitCode === 0 && result.stdoutTail.trim().split('\n').filter(Boolean).length >= service.services.length
    );
  },
};
