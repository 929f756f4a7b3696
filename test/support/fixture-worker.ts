import { NativeConnection, Worker } from '@temporalio/worker';
import { quietRuntime, temporalAddress, type TestWorker } from './temporal';

/** A worker of the stand-in workflows in fixture-workflows.ts (bundled from source) on its own task queue. */
export async function startFixtureWorker(taskQueue: string): Promise<TestWorker> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const worker = await Worker.create({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
    workflowsPath: require.resolve('./fixture-workflows'),
  });
  const running = worker.run();
  return {
    workers: [worker],
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
