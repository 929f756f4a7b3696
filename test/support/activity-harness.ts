import { NativeConnection, Worker } from '@temporalio/worker';
import { activityConfigFromEnv, type ActivityConfig } from '../../src/activities';
import { createWorkers, runWorkers } from '../../src/workers/worker';
import type { CallActivityInput } from './activity-workflows';
import { connectClient, quietRuntime, temporalAddress, uniqueName } from './temporal';

/**
 * Real host workers (as `runbook worker` builds them) plus a stand-in workflow that calls one activity with
 * the timeouts a test picks. Returns the activity's result, or throws its failure.
 */
export interface ActivityHarness {
  host: string;
  call<T>(name: string, args: unknown[], options: Omit<CallActivityInput, 'name' | 'args' | 'taskQueue'>): Promise<T>;
  /** Every attempt the server started for the activity of the last call (from the run's history). */
  attemptsOfLastCall(): Promise<number>;
  stop(): Promise<void>;
}

export async function startActivityHarness(
  options: { host?: string; activities?: Partial<ActivityConfig> } = {},
): Promise<ActivityHarness> {
  quietRuntime();
  const host = options.host ?? uniqueName('host');
  const taskQueue = uniqueName('harness');
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const hostWorkers = await createWorkers({
    connection,
    namespace,
    hosts: [host],
    orchestrate: false,
    activities: { ...activityConfigFromEnv(), ...options.activities },
  });
  const workflowWorker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('./activity-workflows'),
  });
  const workers = [...hostWorkers, workflowWorker];
  const running = runWorkers(workers);
  const temporal = await connectClient();
  let lastWorkflowId: string | undefined;
  return {
    host,
    async call<T>(name: string, args: unknown[], callOptions: Omit<CallActivityInput, 'name' | 'args' | 'taskQueue'>) {
      lastWorkflowId = uniqueName(`call-${name}`);
      const input: CallActivityInput = { name, args, taskQueue: `runbook-host-${host}`, ...callOptions };
      return (await temporal.client.workflow.execute('callActivity', {
        taskQueue,
        workflowId: lastWorkflowId,
        args: [input],
      })) as T;
    },
    async attemptsOfLastCall() {
      const history = await temporal.client.workflow.getHandle(lastWorkflowId!).fetchHistory();
      return (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).length
        ? Math.max(...(history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0))
        : 0;
    },
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await temporal.close();
      await connection.close();
    },
  };
}
