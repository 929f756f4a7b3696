import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandleWithFirstExecutionRunId as Handle } from '@temporalio/client';
import type { DeployInput, RollbackInput } from '../../../src/common/contracts';
import { appLockWorkflowId } from '../../../src/common/names';
import { PROJECT_ROOT, type SystemdMachine } from '../containers';
import { runOutcome, type RunOutcome } from '../runs';
import { uniqueName } from '../temporal';
import { startWorkerProcess, type WorkerProcess } from '../worker-process';

/**
 * An example manifest from examples/, rewritten only where a test machine differs from the guide's server:
 * each [from, to] replaces every occurrence of `from` (a path, host name, port or repository), and a `from`
 * that does not occur is an error, so the example cannot drift away from what the test deploys.
 */
export function rewriteExample(name: string, replacements: Array<[string, string]>): string {
  let text = readFileSync(path.join(PROJECT_ROOT, 'examples', `${name}.yaml`), 'utf8');
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`examples/${name}.yaml no longer contains '${from}'`);
    text = text.split(from).join(to);
  }
  return text;
}

/** The seed's app deployed through the real workflows, by a worker process running on the seed's server. */
export interface SeedRun {
  taskQueue: string;
  host: string;
  manifestsDir: string;
  worker: WorkerProcess;
  deploy(input: Omit<DeployInput, 'app'>): Promise<RunOutcome>;
  /** Starts a deploy and returns its handle (to signal or query it); `outcome` waits for its end. */
  startDeploy(input: Omit<DeployInput, 'app'>): Promise<Handle>;
  outcome(handle: Handle): Promise<RunOutcome>;
  rollback(input?: Omit<RollbackInput, 'app'>): Promise<RunOutcome>;
  stop(): Promise<void>;
}

export async function startSeedRun(options: {
  client: Client;
  app: string;
  host: string;
  manifestText: string;
  dir: string;
  /** The server the app runs on; default the test's own machine (for Docker apps). */
  machine?: SystemdMachine;
  env?: NodeJS.ProcessEnv;
}): Promise<SeedRun> {
  const taskQueue = uniqueName(`${options.app}-q`);
  const manifestsDir = path.join(options.dir, 'apps');
  mkdirSync(manifestsDir, { recursive: true });
  writeFileSync(path.join(manifestsDir, `${options.app}.yaml`), options.manifestText);
  const worker = await startWorkerProcess({
    taskQueue,
    hosts: [options.host],
    manifestsDir,
    env: options.env,
    // On the seed's server the worker runs as the shipped unit runs it: in a cgroup of its own with Delegate=yes
    // (a scope of the machine's systemd), so its commands are contained by cgroup, as in production.
    ...(options.machine
      ? {
          wrap: [
            ...options.machine.enter(PROJECT_ROOT),
            'systemd-run',
            '--scope',
            '--quiet',
            '-p',
            'Delegate=yes',
            '--',
          ],
          wrapForks: true,
        }
      : {}),
  });
  if (options.machine && !worker.output().includes('commands run in cgroups')) {
    await worker.stop();
    throw new Error(`the worker on ${options.machine.name} does not contain commands by cgroup:\n${worker.output()}`);
  }
  const startRun = (type: 'deploy' | 'rollback', input: object) =>
    options.client.workflow.start(type, {
      taskQueue,
      workflowId: appLockWorkflowId(options.app),
      args: [{ app: options.app, ...input }],
    });
  const outcome = (handle: Handle) => runOutcome(options.client, handle.workflowId, handle.firstExecutionRunId);
  const start = async (type: 'deploy' | 'rollback', input: object) => outcome(await startRun(type, input));
  return {
    taskQueue,
    host: options.host,
    manifestsDir,
    worker,
    deploy: (input) => start('deploy', input),
    startDeploy: (input) => startRun('deploy', input),
    outcome,
    rollback: (input = {}) => start('rollback', input),
    stop: () => worker.stop(),
  };
}
