import { readdirSync, readFileSync } from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { appLockWorkflowId } from '../../src/common/names';
import type { Progress, RunReport } from '../../src/common/progress';
import { createAppFixture, type AppFixture } from './demo-app';
import { waitFor } from './postgres';
import { processesMentioning } from './processes';
import { runOutcome } from './runs';
import { connectClient } from './temporal';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

/**
 * Deploys of the demo app by real worker processes (the compiled worker, with `env`), for tests that SIGKILL
 * a worker while a step's processes run. Registers its own setup and teardown in the calling describe block.
 */
export function forkingDeploys(env: NodeJS.ProcessEnv = {}) {
  let fx: AppFixture;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    temporal = await connectClient();
  });
  afterAll(async () => temporal?.close());
  beforeEach(async () => {
    fx = await createAppFixture({ name: 'forks' });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await fx.cleanup();
  });

  const harness = {
    get fx(): AppFixture {
      return fx;
    },

    async worker(): Promise<WorkerProcess> {
      const started = await startWorkerProcess({
        taskQueue: fx.taskQueue,
        hosts: [fx.host],
        manifestsDir: fx.manifestsDir,
        env,
      });
      workers.push(started);
      return started;
    },

    /** SIGKILLs a worker (and first its reaper, to play a crash that takes both down). */
    async kill(worker: WorkerProcess, options: { reaperToo?: boolean } = {}): Promise<void> {
      if (options.reaperToo) for (const pid of reapersOf(worker.child.pid!)) process.kill(pid, 'SIGKILL');
      await worker.kill();
      workers.splice(workers.indexOf(worker), 1);
    },

    async deploy(ref: string): Promise<RunReport> {
      return (await runOutcome(temporal.client, (await harness.start(ref)).workflowId)).report;
    },

    start(ref: string): Promise<WorkflowHandle> {
      fx.stage(ref);
      return temporal.client.workflow.start('deploy', {
        taskQueue: fx.taskQueue,
        workflowId: appLockWorkflowId(fx.app),
        args: [{ app: fx.app, ref }],
      });
    },

    /**
     * Starts a deploy whose only install step is the shell command `install`, and returns once the step runs
     * and has forked (two or more processes mention `token`).
     */
    startForking(install: string, token: string): Promise<WorkflowHandle> {
      return harness.startInstalling({ run: install, shell: true }, async () => {
        if (processesMentioning(token).length < 2) throw new Error('the step has not forked yet');
      });
    },

    /** Starts a deploy whose only install step is `step`, and returns once it runs and `ready` passes. */
    async startInstalling(step: Record<string, unknown>, ready: () => Promise<void>): Promise<WorkflowHandle> {
      fx.manifest.steps = { install: [{ name: 'forking install', ...step }] };
      fx.save();
      const handle = await harness.start('v1');
      await waitFor(async () => {
        const progress = await handle.query<Progress>('progress');
        if (progress.steps.find((s) => s.name === 'install: forking install')?.status !== 'running')
          throw new Error('install not running yet');
        await ready();
      }, 60_000);
      return handle;
    },

    async outcome(handle: WorkflowHandle): Promise<RunReport> {
      return (await runOutcome(temporal.client, handle.workflowId)).report;
    },
  };
  return harness;
}

/** Fails unless no process mentions `token` within `ms`. */
export async function nothingLeft(token: string, ms = 3_000): Promise<void> {
  await waitFor(
    async () => {
      const left = processesMentioning(token);
      if (left.length > 0) throw new Error(`still running: ${left.join(', ')}`);
    },
    ms,
    100,
  );
}

/** The reaper a worker started: its child shell waiting on `read`. */
function reapersOf(workerPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === workerPid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('read _'))
        pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}
