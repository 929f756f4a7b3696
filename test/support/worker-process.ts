import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { stopChild, waitFor } from './postgres';

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'workers', 'main.js');

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** SIGKILL: the process gets no chance to finish or report anything. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

/** A real `runbook worker` process (the built dist/workers/main.js), ready once it polls its task queues. */
export async function startWorkerProcess(options: {
  taskQueue: string;
  hosts: string[];
  manifestsDir: string;
  env?: Record<string, string>;
}): Promise<WorkerProcess> {
  const { taskQueue, hosts, manifestsDir } = options;
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      ...options.env,
      RUNBOOK_TASK_QUEUE: taskQueue,
      RUNBOOK_HOSTS: hosts.join(','),
      RUNBOOK_MANIFESTS: manifestsDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}:\n${output}`);
    if (!output.includes(`task queues ${taskQueue}`)) throw new Error(`worker not ready:\n${output}`);
  }, 30_000);
  return {
    child,
    output: () => output,
    crash: () => stopChild(child, 'SIGKILL'),
    stop: () => stopChild(child, 'SIGTERM'),
  };
}
