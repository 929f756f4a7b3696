import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../src/devserver/ports';
import { CLI, runCli } from '../support/cli';
import { stopChild, waitFor } from '../support/postgres';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `runbook dev` and `runbook demo` start their own real dev server: each test here owns one. */
describe('runbook dev and runbook demo', () => {
  let dev: ChildProcess | undefined;
  afterEach(async () => {
    if (dev) await stopChild(dev, 'SIGINT', 20_000);
    dev = undefined;
  });

  it('runs a dev server with its Web UI and a worker until Ctrl-C, and prints how to reach it', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    dev = spawn(process.execPath, [CLI, 'dev', '--json', '--port', String(port), '--ui-port', String(uiPort)], {
      env: { ...process.env, RUNBOOK_MANIFESTS: EXAMPLES, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    dev.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    let info:
      | { TEMPORAL_ADDRESS: string; TEMPORAL_UI_URL: string; uiUrl: string; taskQueues: string[]; apps: string[] }
      | undefined;
    await waitFor(
      async () => {
        info = JSON.parse(stdout.slice(stdout.indexOf('{'))) as typeof info;
      },
      60_000,
      200,
    );
    expect(info).toMatchObject({
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}`,
      uiUrl: `http://127.0.0.1:${uiPort}`,
    });
    expect(info?.taskQueues).toEqual(expect.arrayContaining(['runbook', 'runbook-host-web-1', 'runbook-host-etl-1']));
    expect(info?.apps).toEqual(['almareia', 'financial-etl', 'flowlog', 'orquetask', 'secretaria']);

    const ui = await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`);
    expect(ui.status).toBe(200);
    expect(await ui.json()).toMatchObject({ StartWorkflowDisabled: false });

    const inspect = await runCli(['inspect', 'almareia'], {
      env: {
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}`,
        RUNBOOK_TASK_QUEUE: 'runbook',
      },
    });
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain('✓ inspect almareia succeeded');
    expect(inspect.stdout).toContain('  copy → in-place on web-1');
    expect(inspect.stdout).toContain(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/inspect-almareia-`);

    const exited = new Promise<number | null>((resolve) => dev?.once('exit', (code) => resolve(code)));
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
    dev = undefined;
    await waitFor(
      async () => {
        expect(await listening(port)).toBe(false);
        expect(await listening(uiPort)).toBe(false);
      },
      20_000,
      200,
    );
  }, 120_000);

  it('refuses a port that is taken with exit 2 and how to fix it', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as net.AddressInfo;
    try {
      const result = await runCli(['dev', '--port', String(port)], { env: { RUNBOOK_MANIFESTS: EXAMPLES } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`error: port ${port} (--port) is in use; is another dev server running?`);
      expect(result.stderr).toContain('hint: stop it, or pass --port with a free port');
    } finally {
      server.close();
    }
  });

  it('demo deploys v1, rolls a broken v2 back by itself, prints the timeline with UI links, and stops everything', async () => {
    const result = await runCli(['demo'], { timeoutMs: 240_000 });
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/✓ deploy demo v1 succeeded in \S+: deployed demo v1/);
    expect(out).toMatch(
      /↩ deploy demo v2 rolled back in \S+: rolled back deploy of demo v2: home \(\S+\) failed after \d+ attempt\(s\): answered 500/,
    );
    expect(out).toMatch(
      /^ {2}2\. ✓ deploy v1: exit 0, succeeded; serving v1\n {7}http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/deploy-demo\/[\w-]+\/history$/m,
    );
    expect(out).toMatch(/^ {2}3\. ✓ deploy v2, .*: exit 1, rolled_back; serving v1\n {7}http:\/\/\S+\/history$/m);
    expect(out).toMatch(/^ {2}4\. ✓ the releases on the host: .*: exit 0$/m);
    const app = /The demo app \(\S+\) serves on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
    expect(app).not.toBeNull();
    await waitFor(async () => expect(await listening(Number(app?.[2]))).toBe(false), 10_000, 200);
  }, 300_000);
});
