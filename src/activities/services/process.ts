import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { commandToArgv } from '../../manifest/argv';
import { durationMs } from '../../common/duration';
import type { Service } from '../../manifest/types';
import { appPaths } from '../../common/names';
import { writeFileAtomic } from '../atomic-write';
import { redact } from '../redact';
import { isAlive } from '../shell';
import { pidsListeningOn } from './ports';
import type { ServiceContext, ServiceManager } from './types';
import { failure } from '../../common/failures';

type ProcessService = Extract<Service, { type: 'process' }>;

interface PidRecord {
  pid: number;
  dir: string;
  release?: string;
  startedAt: string;
}

/** A process service started detached, with a pid file and a log file; stopped by pid and by port owner. */
export const processManager: ServiceManager<ProcessService> = {
  async start(service, context) {
    const record = readPidRecord(pidFile(context, service));
    if (record && isAlive(record.pid) && record.dir === context.dir)
      return `${service.name} already running (pid ${record.pid})`;
    const stopped = await this.stop(service, context);
    const log = logFile(service, context);
    mkdirSync(path.dirname(log), { recursive: true });
    const logStart = existsSync(log) ? statSync(log).size : 0;
    const out = openSync(log, 'a');
    const argv = commandToArgv(service.start);
    const child = spawn(argv[0], argv.slice(1), {
      cwd: service.cwd ? path.resolve(context.dir, service.cwd) : context.dir,
      env: { ...context.env, ...service.env, RUNBOOK_RELEASE: context.release ?? '' },
      stdio: ['ignore', out, out],
      detached: true,
    });
    closeSync(out);
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('error', resolve);
      child.once('spawn', () => resolve(undefined));
    });
    if (spawnError || !child.pid)
      throw failure(
        'ServiceCommandFailed',
        `${service.name}: cannot start ${argv[0]}: ${spawnError?.message}; check services[].start in the manifest`,
      );
    child.unref();
    writePidRecord(pidFile(context, service), {
      pid: child.pid,
      dir: context.dir,
      release: context.release,
      startedAt: new Date().toISOString(),
    });
    // A release that dies at once is reported with its own words rather than as a later health timeout.
    await new Promise((r) => setTimeout(r, 750));
    if (!isAlive(child.pid) || child.exitCode !== null) {
      rmSync(pidFile(context, service), { force: true });
      const tail = readTail(log, logStart);
      throw failure(
        'ServiceExited',
        `${service.name} exited right after starting (status ${child.exitCode ?? 'unknown'})${tail ? `; its log says:\n${redact(tail, context.redact)}` : ''}`,
      );
    }
    return `${stopped.startsWith('stopped') ? `${stopped}; ` : ''}started ${service.name} (pid ${child.pid}, log ${log})`;
  },

  async stop(service, context) {
    const file = pidFile(context, service);
    const record = readPidRecord(file);
    const stopped: number[] = [];
    const timeout = durationMs(service.stopTimeout);
    if (record && isAlive(record.pid)) {
      await terminate(record.pid, true, timeout);
      stopped.push(record.pid);
    }
    rmSync(file, { force: true });
    if (service.port) {
      for (const pid of pidsListeningOn(service.port)) {
        if (pid === process.pid) continue;
        await terminate(pid, false, timeout);
        stopped.push(pid);
      }
    }
    return stopped.length ? `stopped ${service.name} (pid ${stopped.join(', ')})` : `${service.name} was not running`;
  },

  async isRunning(service, context) {
    const record = readPidRecord(pidFile(context, service));
    if (record && isAlive(record.pid)) return true;
    return service.port ? pidsListeningOn(service.port).length > 0 : false;
  },
};

function pidFile(context: ServiceContext, service: ProcessService): string {
  return path.join(appPaths(context.manifest).runDir, `${service.name}.pid`);
}

export function logFile(service: ProcessService, context: Pick<ServiceContext, 'manifest' | 'dir'>): string {
  if (service.log) return path.isAbsolute(service.log) ? service.log : path.join(context.dir, service.log);
  return path.join(appPaths(context.manifest).stateDir, 'logs', `${service.name}.log`);
}

function readPidRecord(file: string): PidRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

function writePidRecord(file: string, record: PidRecord): void {
  writeFileAtomic(file, JSON.stringify(record));
}

async function terminate(pid: number, group: boolean, timeoutMs: number): Promise<void> {
  const send = (signal: NodeJS.Signals) => {
    try {
      process.kill(group ? -pid : pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // gone
      }
    }
  };
  send('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) {
    send('SIGKILL');
    while (isAlive(pid) && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 50));
  }
}

function readTail(file: string, from: number): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(from).trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}
