import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { CLI, runCli } from '../support/cli';
import { stopChild, waitFor } from '../support/postgres';
import { uniqueName } from '../support/temporal';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');

describe('runbook worker', () => {
  let worker: ChildProcess | undefined;
  afterEach(async () => {
    if (worker) await stopChild(worker, 'SIGKILL');
  });

  it('polls its task queues and runs the workflows started there; SIGTERM stops it cleanly', async () => {
    const taskQueue = uniqueName('cli-worker');
    const env = { RUNBOOK_TASK_QUEUE: taskQueue, RUNBOOK_MANIFESTS: EXAMPLES };
    worker = spawn(process.execPath, [CLI, 'worker', '--host', 'web-1'], {
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    worker.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitFor(
      async () => expect(stdout).toContain(`task queues ${taskQueue}, runbook-host-web-1; manifests ${EXAMPLES}`),
      60_000,
      200,
    );

    const inspect = await runCli(['inspect', 'almareia', '--json'], { env });
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({
      kind: 'inspect',
      outcome: 'succeeded',
      result: { app: 'almareia', hosts: ['web-1'] },
    });

    const exited = new Promise<number | null>((resolve) => worker?.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    worker = undefined;
  }, 120_000);
});
