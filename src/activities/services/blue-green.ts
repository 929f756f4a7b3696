/**
 * Blue/green `process` services: two slots (blue, green) on the manifest's two ports behind the team's
 * reverse proxy. A start runs the release on the idle slot, checks it there, then points the proxy at it;
 * the slot it replaced keeps running until it is retired (after the deploy's health checks, and a drain), so
 * going back is a proxy switch to a process that never stopped. A slot already running the release asked
 * for is reused, never restarted.
 */
import { realpathSync } from 'node:fs';
import { expandArgv } from '../../common/template';
import { commandToArgv } from '../../manifest/argv';
import { durationMs } from '../../common/duration';
import type { Service } from '../../manifest/types';
import { reportProgress, throwIfCancelled } from '../attempt';
import { processManager, runningFrom } from './process';
import { proxyFor, type BlueGreen } from './proxy';
import type { ServiceContext, ServiceObservation } from './types';
import { failure } from '../../common/failures';

export type BlueGreenService = Extract<Service, { type: 'process' }> & { blueGreen: BlueGreen };
type Slot = 'blue' | 'green';
const SLOTS: readonly Slot[] = ['blue', 'green'];

export function isBlueGreen(service: Service): service is BlueGreenService {
  return service.type === 'process' && service.blueGreen !== undefined;
}

/** The service as it runs on one slot: a name of its own (its pid record), the slot's port as PORT and {{port}}. */
export function slotService(service: BlueGreenService, slot: Slot): Extract<Service, { type: 'process' }> {
  const port = slotPort(service, slot);
  return {
    ...service,
    name: `${service.name}-${slot}`,
    start: expandArgv(commandToArgv(service.start), { port: String(port) }),
    port,
    env: { ...service.env, PORT: String(port) },
    blueGreen: undefined,
  };
}

function slotPort(service: BlueGreenService, slot: Slot): number {
  return service.blueGreen.ports[slot === 'blue' ? 0 : 1];
}

function slotOfPort(service: BlueGreenService, port: number | undefined): Slot | undefined {
  return SLOTS.find((slot) => slotPort(service, slot) === port);
}

export interface BlueGreenStartOptions {
  /** Leave the slot the proxy served from running (the deploy retires it once its health checks passed). */
  keepPrevious: boolean;
}

export const blueGreenManager = {
  /** Makes the proxy serve `context.dir`'s release: on a slot already running it, or on the idle slot. */
  async start(service: BlueGreenService, context: ServiceContext, options: BlueGreenStartOptions): Promise<string> {
    const proxy = proxyFor(service.blueGreen.proxy, context.env);
    const live = slotOfPort(service, await proxy.current());
    // Each slot runs from its release folder itself, not through `current`, which a deploy moves.
    const dir = realpathSync(context.dir);
    const messages: string[] = [];
    let target = SLOTS.find((slot) => runningFrom(slotService(service, slot), context) === dir);
    if (target) {
      messages.push(
        `${service.name} ${context.release ?? dir} already runs on ${slotPort(service, target)} (${target})`,
      );
    } else {
      target = live === 'blue' ? 'green' : 'blue';
      messages.push(await processManager.start(slotService(service, target), { ...context, dir }));
    }
    const port = slotPort(service, target);
    try {
      messages.push(await checkSlot(service, context, port));
    } catch (error) {
      if (target !== live) await this.stopSlot(service, context, target);
      throw error;
    }
    if (target !== live) messages.push(await proxy.switchTo(port));
    if (!options.keepPrevious) messages.push(...(await this.retire(service, context)));
    return messages.join('; ');
  },

  /** Stops the slots the proxy does not send to, after the drain time (requests they still answer finish). */
  async retire(service: BlueGreenService, context: ServiceContext): Promise<string[]> {
    const live = slotOfPort(service, await proxyFor(service.blueGreen.proxy, context.env).current());
    const idle: Slot[] = [];
    for (const slot of SLOTS)
      if (slot !== live && (await processManager.isRunning(slotService(service, slot), context))) idle.push(slot);
    if (idle.length === 0) return [];
    await pause(durationMs(service.blueGreen.drain));
    const messages: string[] = [];
    for (const slot of idle) messages.push(await this.stopSlot(service, context, slot));
    return messages;
  },

  async stop(service: BlueGreenService, context: ServiceContext): Promise<string> {
    const messages: string[] = [];
    for (const slot of SLOTS) messages.push(await this.stopSlot(service, context, slot));
    return messages.join('; ');
  },

  stopSlot(service: BlueGreenService, context: ServiceContext, slot: Slot): Promise<string> {
    return processManager.stop(slotService(service, slot), context);
  },

  /** The slot the proxy sends to, as the bake watches it: a switch to the other slot is a restart. */
  async observe(service: BlueGreenService, context: ServiceContext): Promise<ServiceObservation> {
    const live = slotOfPort(service, await proxyFor(service.blueGreen.proxy, context.env).current());
    if (!live) return { running: false };
    const seen = await processManager.observe!(slotService(service, live), context);
    return seen.describe ? { ...seen, describe: `${seen.describe} on ${slotPort(service, live)} (${live})` } : seen;
  },

  async isRunning(service: BlueGreenService, context: ServiceContext): Promise<boolean> {
    for (const slot of SLOTS) if (await processManager.isRunning(slotService(service, slot), context)) return true;
    return false;
  },
};

/** The slot's own check (blueGreen.check on its port) until it answers 2xx, within the manifest's health time. */
async function checkSlot(service: BlueGreenService, context: ServiceContext, port: number): Promise<string> {
  const url = `http://127.0.0.1:${port}${service.blueGreen.check}`;
  const deadline = Date.now() + durationMs(context.manifest.health.within);
  const interval = Math.min(durationMs(context.manifest.health.interval), 250);
  let last: string;
  for (let attempts = 1; ; attempts++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (response.ok) return `${url} answered ${response.status}`;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    reportProgress({ check: url, attempts, last });
    if (Date.now() + interval > deadline)
      throw failure(
        'HealthCheckFailed',
        `${service.name}: ${url} did not answer 2xx within ${context.manifest.health.within} (${last}); the proxy still sends to the previous release`,
      );
    await pause(interval);
    throwIfCancelled();
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
