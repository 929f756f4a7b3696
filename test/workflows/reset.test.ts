import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/names';
import { resolveTemporalCli } from '../../src/devserver/temporal-cli';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { runOutcome } from '../support/runs';
import { connectClient, startTestWorker, temporalAddress, type TestWorker } from '../support/temporal';

jest.setTimeout(180_000);

// `temporal workflow reset` re-runs a deploy from its first workflow task under a new run id. What it built
// on disk must still be found under the same names: the same release, its step markers, one log line.
describe('a deploy reset with the Temporal CLI', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  const counter = () => path.join(fx.dir, 'installs.txt');

  beforeAll(async () => {
    temporal = await connectClient();
    fx = await createAppFixture();
    process.env.INSTALL_COUNTER = counter();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
  });
  afterAll(async () => {
    delete process.env.INSTALL_COUNTER;
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
  });

  const deploy = async (ref: string) => {
    fx.stage(ref);
    const handle = await temporal.client.workflow.start('deploy', {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ref }],
    });
    return { runId: handle.firstExecutionRunId, ...(await runOutcome(temporal.client, handle.workflowId)) };
  };
  const releases = () => readdirSync(path.join(fx.root, 'releases')).filter((n) => !n.startsWith('.'));

  it('finds its release, its step markers and its log line again; a later deploy gets a new id', async () => {
    const first = await deploy('v1');
    expect(first.report.outcome).toBe('succeeded');
    const cli = resolveTemporalCli();
    if (cli.kind !== 'path') throw new Error('the tests need the Temporal CLI (make setup installs it)');
    const reset = JSON.parse(
      execFileSync(
        cli.path,
        [
          'workflow',
          'reset',
          '--address',
          temporalAddress(),
          '--workflow-id',
          appLockWorkflowId(fx.app),
          '--run-id',
          first.runId,
          '--type',
          'FirstWorkflowTask',
          '--reason',
          'test: re-run the deploy',
          '--output',
          'json',
        ],
        { encoding: 'utf8' },
      ),
    ) as { runId: string };
    expect(reset.runId).not.toBe(first.runId);
    const again = await runOutcome(temporal.client, appLockWorkflowId(fx.app), reset.runId);
    expect(again.report.outcome).toBe('succeeded');
    expect(again.report.runId).toBe(reset.runId);
    expect(again.report.release).toBe(first.report.release);
    expect(releases()).toEqual([first.report.release]);
    expect(readFileSync(counter(), 'utf8').trim().split('\n')).toHaveLength(1);
    const log = readFileSync(path.join(fx.root, 'deploy_log.jsonl'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(1);
    expect(await fx.serving()).toBe('v1');

    const second = await deploy('v2');
    expect(second.report.outcome).toBe('succeeded');
    expect(second.report.release).not.toBe(first.report.release);
    expect(second.report.release!.slice(-8)).not.toBe(first.report.release!.slice(-8));
    expect(releases().sort()).toEqual([first.report.release, second.report.release].sort());
  });
});
