import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

/** How long a bad input may take to fail the run: one workflow task, far less in practice. */
const SETTLES_WITHIN_MS = 15_000;

/**
 * The start form's inputs the issue reported: each one left a run Running (or terminated without a report),
 * held the app's lock, or ran the wrong thing. Each must fail at once as a non-retryable BadInput naming the field.
 */
describe('bad workflow input fails the run at once (real dev server)', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    temporal = await connectClient();
    fx = await createAppFixture({ name: 'badinput' });
    Object.assign(fx.manifest, {
      params: { tenantId: { pattern: '[0-9]+' } },
      backups: { dir: `${fx.dir}/backups`, targets: [{ name: 'files', files: { paths: [fx.root] } }] },
      jobs: [{ name: 'report', run: ['true'], cwd: fx.dir }],
    });
    fx.save();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
  });

  /** The run's failure, or an error saying it was still running (then it is terminated, not left behind). */
  async function settle(handle: WorkflowHandle): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), SETTLES_WITHIN_MS)));
    const outcome = await Promise.race([
      handle.result().then(
        () => 'completed',
        (error: unknown) => error,
      ),
      stuck,
    ]);
    clearTimeout(timer);
    if (outcome === 'still running') await handle.terminate('test: the run did not settle').catch(() => undefined);
    return outcome;
  }

  const rootCause = (error: Error): string => (error.cause instanceof Error ? rootCause(error.cause) : error.message);

  async function expectBadInput(type: string, input: unknown, field: string, workflowId = uniqueName(type)) {
    const handle = await temporal.client.workflow.start(type, { taskQueue: fx.taskQueue, workflowId, args: [input] });
    const outcome = await settle(handle);
    expect(outcome).toBeInstanceOf(WorkflowFailedError);
    const failure = (outcome as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({
      type: 'BadInput',
      nonRetryable: true,
    });
    expect(failure.message).toContain(field);
    const description = await handle.describe();
    expect(description.status.name).toBe('FAILED');
    return failure;
  }

  it('job with null input', async () => {
    await expectBadInput('job', null, 'input');
  });

  it('job with `from` as an array', async () => {
    await expectBadInput('job', { app: fx.app, job: 'report', from: ['2025-01-01'], to: '2025-01-02' }, 'from');
  });

  it('job from 1000-01-01 to 9999-12-31: refused by arithmetic, before any date is enumerated', async () => {
    await expectBadInput('job', { app: fx.app, job: 'report', from: '1000-01-01', to: '9999-12-31' }, 'to');
  });

  it('backup with a 3,000-character app name', async () => {
    await expectBadInput('backup', { app: 'a'.repeat(3_000) }, 'app');
  });

  it('deploy with a 3,000-character ref: a report-bearing failure, and the lock is free', async () => {
    await expectBadInput('deploy', { app: fx.app, ref: 'v'.repeat(3_000) }, 'ref', appLockWorkflowId(fx.app));
  });

  it('restore with "scratch": "true" (a string) is refused, not taken as a real restore', async () => {
    await expectBadInput(
      'restore',
      { app: fx.app, backup: `${fx.app}-files-20250101T000000Z`, scratch: 'true' },
      'scratch',
    );
  });

  it('deploy with "seed": "false" (a string) is refused, not taken as true', async () => {
    await expectBadInput('deploy', { app: fx.app, ref: 'v1', seed: 'false' }, 'seed', appLockWorkflowId(fx.app));
  });

  it("a manifest param pattern that does not compile fails the deploy at once and frees the app's lock", async () => {
    fx.manifest.params = { tenantId: { pattern: '[0-9' } };
    fx.save();
    try {
      const handle = await temporal.client.workflow.start('deploy', {
        taskQueue: fx.taskQueue,
        workflowId: appLockWorkflowId(fx.app),
        args: [{ app: fx.app, ref: 'v1', params: { tenantId: '42' } }],
      });
      const outcome = await settle(handle);
      expect(outcome).toBeInstanceOf(WorkflowFailedError);
      expect(rootCause(outcome as WorkflowFailedError)).toContain('params.tenantId.pattern');
      expect((await handle.describe()).status.name).toBe('FAILED');
    } finally {
      fx.manifest.params = { tenantId: { pattern: '[0-9]+' } };
      fx.save();
    }
  });
});
