import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');

describe('inspect workflow on the real dev server', () => {
  const taskQueue = uniqueName('inspect');
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    worker = await startTestWorker({ taskQueue, activities: { manifestsDir: EXAMPLES } });
    temporal = await connectClient();
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
  });

  it('loads and validates a manifest through an activity and returns its summary', async () => {
    const result = await temporal.client.workflow.execute('inspect', {
      taskQueue,
      workflowId: uniqueName('inspect-almareia'),
      args: [{ app: 'almareia' }],
    });
    expect(result).toEqual({
      app: 'almareia',
      hosts: ['web-1'],
      strategy: 'in-place',
      source: 'copy',
      services: ['web (process)'],
      healthChecks: 4,
      jobs: [],
      schedules: [],
    });
  });

  it('fails without retrying when the app has no manifest, naming the folder and the known apps', async () => {
    const run = temporal.client.workflow.execute('inspect', {
      taskQueue,
      workflowId: uniqueName('inspect-missing'),
      args: [{ app: 'no-such-app' }],
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause as Error;
    expect(cause.message).toContain("no manifest for app 'no-such-app'");
    expect(cause.message).toContain('almareia');
  });
});
