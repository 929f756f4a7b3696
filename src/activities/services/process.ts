import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { commandToArgv } from '../../manifest/argv';
import { durationMs } from '../../common/duration';
import type { Service } from '../../manifest/types';
import {
  containService,
  identityOf,
  isTreeRunning,
  killTree,
  pause,
  procStat,
  stopTree,
  treeMembers,
  trustedTree,
  type ProcessIdentity,
  type ProcessTree,
} from '../containment';
import {
  hostQueue,
  readStateJson,
  removeStateFile,
  stateDir,
  stateFileName,
  stateFiles,
  writeStateFile,
} from '../host-state';
import { appPaths } from '../../common/names';
import { redact } from '../redact';
import { listensOn, pidsListeningOn } from './ports';
import type { ServiceContext, ServiceManager } from './types';
import { failure } from '../../common/failures';
import { processesUsage } from './usage';

type ProcessService = Extract<Service, { type: 'process' }>;

/** A running process service, kept in Runbook's state folder: its process tree and where it runs from. */
interface ServiceRecord extends ProcessTree {
  root: string;
  service: string;
  dir: string;
  release?: string;
  startedAt: string;
}

/**
 * A process service started detached in a cgroup of its own (or with its own marker), apart from the
 * worker's, so it outlives the worker that started it and a later worker finds all of it; stopped as a
 * whole tree (also what it daemonized), and by whoever listens on its port, as the Almareia guide does.
 */
export const processManager: ServiceManager<ProcessService> = {
  async start(service, context) {
    const file = recordFile(context, service);
    const record = readRecord(file);
    if (record && record.dir === context.dir && isTreeRunning(trustedTree(record)))
      return `${service.name} already running (pid ${record.main?.pid})`;
    const stopped = await this.stop(service, context);
    const log = logFile(service, context);
    mkdirSync(path.dirname(log), { recursive: true });
    const logStart = existsSync(log) ? statSync(log).size : 0;
    const out = openSync(log, 'a');
    const command = commandToArgv(service.start);
    const contained = containService(path.basename(file, '.json'), command, {
      ...context.env,
      ...service.env,
      RUNBOOK_RELEASE: context.release ?? '',
    });
    const child = spawn(contained.argv[0], contained.argv.slice(1), {
      cwd: service.cwd ? path.resolve(context.dir, service.cwd) : context.dir,
      env: contained.env,
      stdio: ['ignore', out, out],
      detached: true,
    });
    closeSync(out);
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('error', resolve);
      child.once('spawn', () => resolve(undefined));
    });
    if (spawnError || !child.pid) {
      await killTree(contained.tree);
      throw failure(
        'ServiceCommandFailed',
        `${service.name}: cannot start ${command[0]}: ${spawnError?.message}; check services[].start in the manifest`,
      );
    }
    child.unref();
    const tree: ProcessTree = { ...contained.tree, main: identityOf(child.pid) };
    await writeStateFile(
      file,
      JSON.stringify({
        ...tree,
        root: context.manifest.root,
        service: service.name,
        dir: context.dir,
        release: context.release,
        startedAt: new Date().toISOString(),
      } satisfies ServiceRecord),
    );
    // A release that dies at once is reported with its own words rather than as a later health timeout.
    // (One that daemonizes exits 0 and leaves its tree running.)
    await settle(tree, child, service.port);
    if (!isTreeRunning(tree) || (child.exitCode !== null && child.exitCode !== 0)) {
      await killTree(tree);
      removeStateFile(file);
      const tail = readTail(log, logStart);
      throw failure(
        'ServiceExited',
        `${service.name} exited right after starting (status ${child.exitCode ?? 'unknown'})${tail ? `; its log says:\n${redact(tail, context.redact)}` : ''}`,
      );
    }
    return `${stopped.startsWith('stopped') ? `${stopped}; ` : ''}started ${service.name} (pid ${child.pid}, log ${log})`;
  },

  async stop(service, context) {
    const file = recordFile(context, service);
    const record = readRecord(file);
    const timeout = durationMs(service.stopTimeout);
    const stopped: number[] = [];
    if (record) stopped.push(...(await stopTree(trustedTree(record), timeout)));
    removeStateFile(file);
    const legacy = legacyRecord(context, service);
    if (legacy) stopped.push(...(await stopTree({ main: legacy }, timeout)));
    if (service.port) {
      for (const pid of pidsListeningOn(service.port)) {
        const owner = identityOf(pid);
        if (pid === process.pid || !owner) continue;
        stopped.push(...(await stopTree({ main: owner }, timeout)));
      }
    }
    const pids = [...new Set(stopped)];
    return pids.length ? `stopped ${service.name} (pid ${pids.join(', ')})` : `${service.name} was not running`;
  },

  async isRunning(service, context) {
    const record = readRecord(recordFile(context, service));
    if (record && isTreeRunning(trustedTree(record))) return true;
    return service.port ? pidsListeningOn(service.port).length > 0 : false;
  },

  async observe(service, context) {
    const record = readRecord(recordFile(context, service));
    const tree = record && trustedTree(record);
    const pids = tree ? treeMembers(tree) : [];
    if (!record?.main || pids.length === 0) return { running: false };
    const usage = processesUsage(pids);
    return {
      running: true,
      instance: `${record.main.pid}@${record.main.start}`,
      describe: `pid ${record.main.pid}`,
      memoryBytes: usage.rssBytes,
      cpuSeconds: usage.cpuSeconds,
    };
  },
};

/** The folder the service's recorded process tree runs from, while it runs; undefined when it does not. */
export function runningFrom(service: ProcessService, context: ServiceContext): string | undefined {
  const record = readRecord(recordFile(context, service));
  return record && isTreeRunning(trustedTree(record)) ? record.dir : undefined;
}

/**
 * Waits out a service's start: until a process of its tree listens on the service's port (it got as far as
 * serving; a later death is for the health checks to find) or its first process failed; else 750 ms, and then
 * as long as that process is still busy (running or waiting for a CPU, as on a loaded host a crashing
 * interpreter may still be importing) rather than asleep waiting for work, up to 10 s.
 */
async function settle(tree: ProcessTree, child: ChildProcess, port: number | undefined): Promise<void> {
  const started = Date.now();
  const failed = () => child.exitCode !== null && child.exitCode !== 0;
  const listening = () => port !== undefined && listensOn(port, treeMembers(tree));
  while (Date.now() - started < 750) {
    if (failed() || listening()) return;
    await pause(port === undefined ? 750 : 10);
  }
  const main = tree.main;
  const busy = () => main !== undefined && ['R', 'D'].includes(procStat(main.pid)?.state ?? '');
  while (child.exitCode === null && busy() && Date.now() - started < 10_000) await pause(100);
}

/** One record per host queue, app root and service: two hosts simulated on one machine keep theirs apart. */
function recordFile(context: ServiceContext, service: ProcessService): string {
  return path.join(
    stateDir('services'),
    stateFileName(`${hostQueue()}/${context.manifest.root}/${service.name}`, '.json'),
  );
}

function readRecord(file: string): ServiceRecord | undefined {
  const record = readStateJson<ServiceRecord>(file);
  if (!record) removeStateFile(file); // a symlink or garbage planted in its place
  return record;
}

/**
 * The pid file an earlier Runbook kept in the app's own folder (`<state>/run/<service>.pid`), read once so an
 * upgrade stops the services the old version started; then deleted. That folder may be writable by the
 * app's user, so the pid counts only if it names a process that started when the record says, from a folder
 * inside the app's root: a pid planted there cannot make Runbook signal anything else.
 */
function legacyRecord(context: ServiceContext, service: ProcessService): ProcessIdentity | undefined {
  const file = path.join(appPaths(context.manifest).runDir, `${service.name}.pid`);
  if (!existsSync(file)) return undefined;
  let recorded: { pid?: unknown; startedAt?: unknown } | undefined;
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as typeof recorded;
  } catch {
    recorded = undefined;
  }
  rmSync(file, { force: true });
  if (typeof recorded?.pid !== 'number' || typeof recorded.startedAt !== 'string') return undefined;
  const identity = identityOf(recorded.pid);
  const started = identity && processStartedAt(identity);
  const recordedAt = Date.parse(recorded.startedAt);
  if (!identity || started === undefined || !(started <= recordedAt + 1_000 && started >= recordedAt - 10_000))
    return undefined;
  let cwd: string;
  try {
    cwd = readlinkSync(`/proc/${identity.pid}/cwd`);
  } catch {
    return undefined;
  }
  const relative = path.relative(path.resolve(context.manifest.root), cwd);
  return relative.startsWith('..') || path.isAbsolute(relative) ? undefined : identity;
}

/** When a process started, in ms since the epoch: boot time plus its start in clock ticks (USER_HZ = 100). */
function processStartedAt(identity: ProcessIdentity): number | undefined {
  try {
    const boot = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return boot ? Number(boot[1]) * 1_000 + Number(identity.start) * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Signals every process service started from `root` on this host (for tests and the demo's cleanup). */
export async function stopProcessServicesOf(root: string, signal: NodeJS.Signals): Promise<void> {
  const dir = stateDir('services');
  for (const name of stateFiles(dir)) {
    const file = path.join(dir, name);
    const record = readStateJson<ServiceRecord>(file);
    if (record?.root !== root) continue;
    const tree = trustedTree(record);
    await (signal === 'SIGKILL' ? killTree(tree) : stopTree(tree, 5_000));
    removeStateFile(file);
  }
}

export function logFile(service: ProcessService, context: Pick<ServiceContext, 'manifest' | 'dir'>): string {
  if (service.log) return path.isAbsolute(service.log) ? service.log : path.join(context.dir, service.log);
  return path.join(appPaths(context.manifest).stateDir, 'logs', `${service.name}.log`);
}

/** The last lines written to a log since byte `from`: only its end is read, however long the log. */
function readTail(file: string, from: number): string {
  try {
    const size = statSync(file).size;
    const start = Math.max(from, size - TAIL_BYTES);
    const bytes = Buffer.alloc(Math.max(0, size - start));
    const fd = openSync(file, 'r');
    try {
      readSync(fd, bytes, 0, bytes.length, start);
    } finally {
      closeSync(fd);
    }
    return bytes.toString('utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

const TAIL_BYTES = 64 * 1024;
