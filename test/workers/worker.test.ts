import { NativeConnection } from '@temporalio/worker';
import { activityConfigFromEnv } from '../../src/activities';
import { runbookCgroupRoot } from '../../src/activities/containment/cgroups';
import { runCommand } from '../../src/activities/shell';
import { createWorkers, describeTuning, runWorkers } from '../../src/workers/worker';
import { forkersOf, sparesOf } from '../support/processes';
import { quietRuntime, testConnectionOptions, uniqueName } from '../support/temporal';

describe('createWorkers applies the worker tuning (real dev server)', () => {
  let connection: NativeConnection;
  beforeAll(async () => {
    quietRuntime();
    connection = await NativeConnection.connect(testConnectionOptions());
  });
  afterAll(() => connection?.close());

  /** Creates, runs and shuts down the workers of one process; returns them for their compiled options. */
  const create = async (tuning?: Parameters<typeof createWorkers>[0]['tuning']) => {
    const workers = await createWorkers({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      hosts: [uniqueName('tuned-host')],
      orchestrate: true,
      taskQueue: uniqueName('tuned'),
      activities: activityConfigFromEnv(),
      ...(tuning ? { tuning } : {}),
    });
    const running = Promise.all(workers.map((w) => w.run()));
    for (const w of workers) w.shutdown();
    await running;
    return workers;
  };

  it('gives every worker the activity slots and the orchestration worker the cache and sticky timeout', async () => {
    const [orchestration, host] = await create({
      maxConcurrentActivityTaskExecutions: 300,
      maxConcurrentWorkflowTaskExecutions: 20,
      maxCachedWorkflows: 800,
      stickyQueueScheduleToStartTimeoutMs: 60_000,
    });
    for (const worker of [orchestration, host])
      expect(worker.options.tuner.activityTaskSlotSupplier).toMatchObject({ type: 'fixed-size', numSlots: 300 });
    expect(orchestration.options.tuner.workflowTaskSlotSupplier).toMatchObject({ type: 'fixed-size', numSlots: 20 });
    expect(orchestration.options.maxCachedWorkflows).toBe(800);
    expect(orchestration.options.stickyQueueScheduleToStartTimeoutMs).toBe(60_000);
    expect(describeTuning([orchestration, host])).toBe(
      'maxConcurrentActivityTaskExecutions 300, maxConcurrentWorkflowTaskExecutions 20, maxCachedWorkflows 800, stickyQueueScheduleToStartTimeout 60000ms',
    );
  });

  it("keeps the SDK's defaults when nothing is set", async () => {
    const [orchestration] = await create();
    expect(orchestration.options.tuner.activityTaskSlotSupplier).toMatchObject({ numSlots: 100 });
    expect(orchestration.options.tuner.workflowTaskSlotSupplier).toMatchObject({ numSlots: 40 });
    expect(orchestration.options.stickyQueueScheduleToStartTimeoutMs).toBe(10_000);
  });
});

// A command leaves a spare shell waiting for the next one (containment/spares.ts), started by the worker's
// forker (containment/forker.ts). Once the workers have stopped no command will take it: left waiting, it and
// its pipes held the context that started it until the process exited — in a Jest worker, every module of
// each test file that ran commands, one spare per file. The forker ends with it.
(runbookCgroupRoot() ? describe : describe.skip)('runWorkers, once its workers stop', () => {
  it('ends the spare shell the commands kept ready, and the forker that started it', async () => {
    quietRuntime();
    // Earlier test files in this Jest worker keep their own spares (each file has its own module instances).
    const earlier = new Set([...spareShells(), ...forkers()]);
    const ours = () => spareShells().filter((pid) => !earlier.has(pid));
    const ourForkers = () => forkers().filter((pid) => !earlier.has(pid));
    const connection = await NativeConnection.connect(testConnectionOptions());
    let workers: Awaited<ReturnType<typeof createWorkers>> = [];
    let running: Promise<void> | undefined;
    try {
      workers = await createWorkers({
        connection,
        namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
        hosts: [uniqueName('spare-host')],
        orchestrate: false,
        activities: activityConfigFromEnv(),
      });
      running = runWorkers(workers);
      expect((await runCommand({ argv: ['true'] })).exitCode).toBe(0);
      await waitForSpare(ours);
      expect(ourForkers()).toHaveLength(1);
      for (const w of workers) w.shutdown();
      await running;
      expect(ours()).toEqual([]);
      expect(ourForkers()).toEqual([]);
    } finally {
      // A failure above must be the one reported, not the connection's refusal to close under live workers.
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running?.catch(() => undefined);
      await connection.close();
    }
  });
});

/** This process's forkers. */
function forkers(): number[] {
  return forkersOf(process.pid);
}

/** The spare shells this process's forkers keep waiting. */
function spareShells(): number[] {
  return forkers().flatMap(sparesOf);
}

async function waitForSpare(spares: () => number[]): Promise<void> {
  for (let i = 0; i < 100 && spares().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(spares()).toHaveLength(1);
}
