import { spawn, type ChildProcess } from 'node:child_process';
import { WORKER_MAIN } from './cli';
import { childrenOf } from './containers';
import { stopChild, waitFor } from './postgres';

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** The crash the durability promise is about: no shutdown, no cleanup. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real `runbook` worker process (the compiled dist/workers/main.js), as production runs it.
 * `wrap` runs it under another command, e.g. `unshare` to give it its own view of the filesystem.
 */
export async function startWorkerProcess(options: {
  taskQueue: string;
  hosts: string[];
  manifestsDir: string;
  orchestrate?: boolean;
  env?: NodeJS.ProcessEnv;
  wrap?: string[];
  /** The wrapper forks the worker and waits (nsenter into a pid namespace): signals go to the forked worker. */
  wrapForks?: boolean;
  /** How long it may take to connect and poll (default 30 s; more where many workers start at once). */
  startTimeoutMs?: number;
}): Promise<WorkerProcess> {
  const env = {
    ...process.env,
    RUNBOOK_TASK_QUEUE: options.taskQueue,
    RUNBOOK_HOSTS: options.hosts.join(','),
    RUNBOOK_MANIFESTS: options.manifestsDir,
    RUNBOOK_ORCHESTRATE: options.orchestrate === false ? 'false' : 'true',
    ...options.env,
  };
  const argv = [...(options.wrap ?? []), process.execPath, WORKER_MAIN];
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker did not start:\n${output}`)),
      options.startTimeoutMs ?? 30_000,
    );
    const poll = setInterval(() => {
      if (output.includes('task queues')) {
        clearTimeout(timer);
        clearInterval(poll);
        resolve();
      }
      if (child.exitCode !== null) {
        clearTimeout(timer);
        clearInterval(poll);
        reject(new Error(`worker exited with ${child.exitCode}:\n${output}`));
      }
    }, 50);
  });
  const exited = () =>
    new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
  if (options.wrapForks) {
    const worker = childrenOf(child.pid!)[0];
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(worker, name);
      } catch {
        // already gone
      }
    };
    return {
      child,
      output: () => output,
      kill: async () => {
        signal('SIGKILL');
        await exited();
      },
      stop: async () => {
        signal('SIGINT');
        await waitFor(async () => {
          if (child.exitCode === null && child.signalCode === null) throw new Error('worker still running');
        }, 15_000).catch(() => signal('SIGKILL'));
        await exited();
      },
    };
  }
  return {
    child,
    output: () => output,
    kill: async () => {
      child.kill('SIGKILL');
      await exited();
    },
    stop: () => stopChild(child, 'SIGINT', 15_000),
  };
}
