import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/devserver/ports';
import { PROJECT_ROOT } from '../support/containers';
import { waitFor } from '../support/postgres';
import { seedDocker, seedMachine, seedScratchDir } from '../support/seed-services';
import { uniqueName } from '../support/temporal';
import { startWorkerProcess } from '../support/worker-process';

/** The seed suite's servers are real: a Docker engine with Compose v2, and systemd as PID 1 of a machine. */
describe("the seed suite's containers", () => {
  const answer = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).text();

  it('builds an image from the Debian base, runs a compose project with a published port and service DNS', async () => {
    const { docker, env, baseImage } = seedDocker();
    const dir = seedScratchDir(uniqueName('compose'));
    const port = await freePort();
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${baseImage}\nCOPY serve.py /serve.py\n`);
    writeFileSync(
      path.join(dir, 'serve.py'),
      [
        'import http.server, os, urllib.request',
        'class H(http.server.BaseHTTPRequestHandler):',
        '    def do_GET(self):',
        "        other = urllib.request.urlopen('http://backend:8000/', timeout=2).read().decode() if os.environ.get('ROLE') == 'front' else ''",
        "        body = f\"{os.environ['ROLE']} {os.environ.get('IMAGE_TAG')} {other}\".encode()",
        '        self.send_response(200); self.end_headers(); self.wfile.write(body)',
        "http.server.HTTPServer(('0.0.0.0', 8000), H).serve_forever()",
      ].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'compose.yml'),
      [
        'services:',
        '  front:',
        '    build: .',
        '    image: harness-app:${IMAGE_TAG}',
        '    command: [python3, /serve.py]',
        '    environment: { ROLE: front, IMAGE_TAG: "${IMAGE_TAG}" }',
        `    ports: ["127.0.0.1:${port}:8000"]`,
        '  backend:',
        '    image: harness-app:${IMAGE_TAG}',
        '    command: [python3, /serve.py]',
        '    environment: { ROLE: backend, IMAGE_TAG: "${IMAGE_TAG}" }',
        '    init: true',
      ].join('\n'),
    );
    const project = ['compose', '-f', path.join(dir, 'compose.yml'), '-p', path.basename(dir).toLowerCase()];
    const withTag = { env: { ...env, IMAGE_TAG: 'v1' } };
    try {
      await docker([...project, 'build', 'front'], withTag);
      await docker([...project, 'up', '-d'], withTag);
      await waitFor(async () => expect(await answer(`http://127.0.0.1:${port}/`)).toBe('front v1 backend v1 '), 30_000);
      expect(
        (await docker([...project, 'ps', '--status', 'running', '--quiet'], withTag)).trim().split('\n'),
      ).toHaveLength(2);
    } finally {
      await docker([...project, 'down', '-t', '1', '--rmi', 'all'], withTag);
    }
  });

  it('boots systemd: units start, stop, restart on failure, read their EnvironmentFile and log to the journal', async () => {
    const machine = seedMachine();
    const dir = seedScratchDir(uniqueName('unit'));
    const port = await freePort();
    const unit = `${uniqueName('harness').toLowerCase()}.service`;
    writeFileSync(path.join(dir, 'app.env'), 'GREETING="hello from the env file"\n');
    writeFileSync(
      path.join(dir, 'serve.py'),
      [
        'import http.server, os',
        "print('serving', flush=True)",
        'class H(http.server.BaseHTTPRequestHandler):',
        '    def do_GET(self):',
        "        self.send_response(200); self.end_headers(); self.wfile.write(os.environ['GREETING'].encode())",
        `http.server.HTTPServer(('127.0.0.1', ${port}), H).serve_forever()`,
      ].join('\n'),
    );
    await machine.writeFile(
      `/etc/systemd/system/${unit}`,
      [
        '[Service]',
        `ExecStart=/usr/bin/python3 ${path.join(dir, 'serve.py')}`,
        `EnvironmentFile=${path.join(dir, 'app.env')}`,
        'Restart=always',
        'RestartSec=0.2',
      ].join('\n'),
    );
    await machine.systemctl('daemon-reload');
    await machine.systemctl('start', unit);
    try {
      await waitFor(
        async () => expect(await answer(`http://127.0.0.1:${port}/`)).toBe('hello from the env file'),
        15_000,
      );
      const firstPid = (await machine.systemctl('show', '-p', 'MainPID', '--value', unit)).trim();
      await machine.systemctl('kill', '-s', 'KILL', unit);
      await waitFor(async () => {
        const pid = (await machine.systemctl('show', '-p', 'MainPID', '--value', unit)).trim();
        if (pid === '0' || pid === firstPid) throw new Error('not restarted yet');
        expect(await answer(`http://127.0.0.1:${port}/`)).toBe('hello from the env file');
      }, 15_000);
      expect((await machine.exec(['journalctl', '-u', unit, '--no-pager'])).stdout).toContain('serving');
    } finally {
      await machine.systemctl('stop', unit);
    }
    expect((await machine.exec(['systemctl', 'is-active', unit])).stdout.trim()).toBe('inactive');
  });

  it('runs a runbook worker process inside the machine, where systemctl reaches its systemd', async () => {
    const machine = seedMachine();
    const dir = seedScratchDir(uniqueName('worker'));
    const worker = await startWorkerProcess({
      taskQueue: uniqueName('harness-q'),
      hosts: [uniqueName('machine')],
      manifestsDir: dir,
      orchestrate: false,
      wrap: machine.enter(PROJECT_ROOT),
      wrapForks: true,
    });
    try {
      expect(worker.output()).toContain('task queues');
      const inside = await machine.exec(['systemctl', 'is-system-running']);
      expect(inside.stdout.trim()).toMatch(/running|degraded/);
    } finally {
      await worker.stop();
    }
    expect(worker.child.exitCode ?? worker.child.signalCode).not.toBeNull();
  });
});
