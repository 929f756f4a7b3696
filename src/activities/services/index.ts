import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Manifest, Service } from '../../manifest/types';
import { reportProgress } from '../attempt';
import type { ActivityConfig } from '../config';
import { appPaths, liveDir } from '../../common/names';
import { writeFileAtomic } from '../atomic-write';
import { commandEnvironment, environmentFileText, secretValues, serviceEnvironment } from '../environment';
import { readReleaseInfo } from '../release-info';
import { blueGreenManager, isBlueGreen } from './blue-green';
import { commandManager } from './command';
import { composeManager } from './compose';
import { processManager } from './process';
import { systemdManager } from './systemd';
import type { ServiceContext, ServiceManager, ServiceObservation } from './types';

export interface ServicesRequest {
  manifest: Manifest;
  /** Run from this folder (a release directory); default the live folder. */
  dir?: string;
  /** Only these services (by name); default all, in manifest order (stop: reverse order). */
  only?: string[];
  /**
   * A deploy's stop leaves blue/green services serving (their start switches them without a gap), and its
   * start keeps their previous release running until `retirePrevious`, so a rollback switches back to it.
   */
  switching?: boolean;
}

export interface ServiceStatus {
  name: string;
  type: Service['type'];
  running: boolean;
}

function managerFor(service: Service): ServiceManager {
  const managers = {
    process: processManager,
    systemd: systemdManager,
    compose: composeManager,
    command: commandManager,
  };
  return managers[service.type] as ServiceManager;
}

/** One look at a service for the bake; a manager that can only say running or not says that. */
export async function observeService(service: Service, context: ServiceContext): Promise<ServiceObservation> {
  if (isBlueGreen(service)) return blueGreenManager.observe(service, context);
  const manager = managerFor(service);
  return manager.observe ? manager.observe(service, context) : { running: await manager.isRunning(service, context) };
}

export function contextFor(config: ActivityConfig, request: ServicesRequest): ServiceContext {
  const env = commandEnvironment(request.manifest, config.env);
  const dir = request.dir ?? liveDir(request.manifest);
  const info = readReleaseInfo(dir);
  return {
    manifest: request.manifest,
    env,
    dir,
    release: info?.id,
    ref: info?.ref,
    redact: secretValues(request.manifest, config.env),
    envFile: existsSync(serviceEnvironmentFile(request.manifest))
      ? serviceEnvironmentFile(request.manifest)
      : undefined,
  };
}

function serviceEnvironmentFile(manifest: Manifest): string {
  return path.join(appPaths(manifest).stateDir, 'env', `${manifest.app}.env`);
}

/**
 * Writes the app's environment for its services into <state>/env/<app>.env (owner-only, replaced atomically)
 * and returns its path; nothing when the app has no env file and no required names.
 */
export async function writeServiceEnvironment(manifest: Manifest, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const values = serviceEnvironment(manifest, env);
  if (Object.keys(values).length === 0) return undefined;
  const file = serviceEnvironmentFile(manifest);
  await writeFileAtomic(file, environmentFileText(values), 0o600);
  return file;
}

function selected(request: ServicesRequest): Service[] {
  return request.manifest.services.filter((s) => !request.only || request.only.includes(s.name));
}

export function serviceActivities(config: ActivityConfig) {
  return {
    /** Stops the app's services on this host, last one first. Idempotent. */
    async stopServices(request: ServicesRequest): Promise<string[]> {
      const context = contextFor(config, request);
      const messages: string[] = [];
      for (const service of [...selected(request)].reverse()) {
        reportProgress({ service: service.name });
        if (isBlueGreen(service)) {
          if (!request.switching) messages.push(await blueGreenManager.stop(service, context));
        } else messages.push(await managerFor(service).stop(service, context));
      }
      return messages;
    },

    /** Starts (or restarts) the app's services on this host from `dir`, in manifest order. Idempotent. */
    async startServices(request: ServicesRequest): Promise<string[]> {
      const context = contextFor(config, request);
      context.envFile = await writeServiceEnvironment(request.manifest, context.env);
      const messages: string[] = [];
      for (const service of selected(request)) {
        reportProgress({ service: service.name });
        messages.push(
          isBlueGreen(service)
            ? await blueGreenManager.start(service, context, { keepPrevious: request.switching ?? false })
            : await managerFor(service).start(service, context),
        );
      }
      return messages;
    },

    /** Stops what blue/green services served before the switch, once the deploy's health checks passed. */
    async retirePrevious(request: ServicesRequest): Promise<string[]> {
      const context = contextFor(config, request);
      const messages: string[] = [];
      for (const service of selected(request).filter(isBlueGreen)) {
        reportProgress({ service: service.name });
        messages.push(...(await blueGreenManager.retire(service, context)));
      }
      return messages;
    },

    async servicesStatus(request: ServicesRequest): Promise<ServiceStatus[]> {
      const context = contextFor(config, request);
      const statuses: ServiceStatus[] = [];
      for (const service of selected(request)) {
        statuses.push({
          name: service.name,
          type: service.type,
          running: isBlueGreen(service)
            ? await blueGreenManager.isRunning(service, context)
            : await managerFor(service).isRunning(service, context),
        });
      }
      return statuses;
    },
  };
}
