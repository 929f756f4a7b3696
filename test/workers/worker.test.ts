import { NativeConnection } from '@temporalio/worker';
import { activityConfigFromEnv } from '../../src/activities';
import { createWorkers, describeTuning } from '../../src/workers/worker';
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
