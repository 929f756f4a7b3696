import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { dynamicConfigArgs, RUNBOOK_DYNAMIC_CONFIG } from '../../src/devserver/dynamic-config';
import { connectClient } from '../support/temporal';

const CLUSTER_FILE = path.resolve(__dirname, '..', '..', 'deploy', 'temporal', 'dynamicconfig.yaml');

describe('the server settings Runbook runs on', () => {
  it('become start-dev flags with JSON values', () => {
    expect(dynamicConfigArgs({ 'history.transferProcessorMaxPollRPS': 1000, 'system.flag': true })).toEqual([
      '--dynamic-config-value',
      'history.transferProcessorMaxPollRPS=1000',
      '--dynamic-config-value',
      'system.flag=true',
    ]);
  });

  it("are the cluster's dynamic configuration, value for value, for every namespace and queue", () => {
    const file = parse(readFileSync(CLUSTER_FILE, 'utf8')) as Record<string, unknown>;
    const expected = Object.fromEntries(
      Object.entries(RUNBOOK_DYNAMIC_CONFIG).map(([key, value]) => [key, [{ value, constraints: {} }]]),
    );
    expect(file).toEqual(expected);
  });

  it('lift the history queue readers above their 20 loads a second', () => {
    expect(RUNBOOK_DYNAMIC_CONFIG['history.transferProcessorMaxPollRPS']).toBeGreaterThan(20);
    expect(RUNBOOK_DYNAMIC_CONFIG['history.timerProcessorMaxPollRPS']).toBeGreaterThan(20);
  });

  // The queue readers' limit shows only in timings, which tests do not assert; the ID limit beside it in the
  // same table shows that the dev server the suites run on (started by startDevServer) was given the table.
  it('reach the dev server the suites run on: it refuses a workflow ID longer than the cluster allows', async () => {
    const temporal = await connectClient();
    try {
      const start = (length: number) =>
        temporal.client.workflow.start('deploy', {
          taskQueue: 'runbook-dynamic-config-probe',
          workflowId: 'x'.repeat(length),
          args: [{}],
        });
      const limit = RUNBOOK_DYNAMIC_CONFIG['limit.maxIDLength'] as number;
      const refused = await start(limit + 1).catch((error: unknown) => error);
      expect((refused as Error & { cause?: Error }).cause?.message).toBe(
        `3 INVALID_ARGUMENT: WorkflowId exceeds maximum allowed length (${limit + 1}/${limit})`,
      );
      const accepted = await start(limit);
      await accepted.terminate('probe only');
    } finally {
      await temporal.close();
    }
  });
});
