import { spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../src/activities';
import { serviceActivities } from '../../src/activities/services';
import { pidsListeningOn } from '../../src/activities/services/ports';
import { logFile } from '../../src/activities/services/process';
import { isAlive } from '../../src/activities/containment';
import { freePort } from '../../src/devserver/ports';
import { parseManifest } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { waitFor } from '../support/postgres';
import { BEYOND_ONE_STRING } from '../support/deploy-log';

const DEMO_APP = path.resolve(__dirname, '..', '..', 'examples', 'demo', 'app');

function manifestOf(yaml: string): Manifest {
  const result = parseManifest(yaml);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.manifest;
}

/** Stand-ins for systemctl, docker and sudo that record their argv: no systemd or Docker engine runs here. */
function standIns(dir: string): { bin: string; calls: () => string[] } {
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'calls.log');
  mkdirSync(bin, { recursive: true });
  const record = (name: string, after = 'exit 0') => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${after}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  record('systemctl');
  record('docker', 'case "$*" in *" ps "*) echo c1; echo c2;; esac; exit 0');
  record('sudo', 'shift; exec "$@"');
  return { bin, calls: () => readFileSync(log, 'utf8').trim().split('\n') };
}

describe('service managers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-services-'));
  const stand = standIns(dir);
  const env = { ...process.env, PATH: `${stand.bin}:${process.env.PATH}` };
  const activities = serviceActivities({ ...activityConfigFromEnv(), env });
  const run = <T>(fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment().run(fn) as Promise<T>;

  it('systemd: restart each unit through sudo -n, stop in reverse order', async () => {
    const manifest = manifestOf(`app: flowlog
host: app-1
root: ${dir}/flowlog
source: { type: git, repo: /srv/git/flowlog.git }
services:
  - { name: web, type: systemd, unit: flowlog-web, sudo: true }
  - { name: worker-default, type: systemd, unit: flowlog-worker-default, sudo: true }
  - { name: worker-whatsapp, type: systemd, unit: flowlog-worker-whatsapp, user: true }
`);
    writeFileSync(path.join(dir, 'calls.log'), '');
    await run(() => activities.startServices({ manifest, dir }));
    await run(() => activities.stopServices({ manifest, dir }));
    expect(stand.calls()).toEqual([
      'sudo -n systemctl restart flowlog-web',
      'systemctl restart flowlog-web',
      'sudo -n systemctl restart flowlog-worker-default',
      'systemctl restart flowlog-worker-default',
      'systemctl --user restart flowlog-worker-whatsapp',
      'systemctl --user stop flowlog-worker-whatsapp',
      'sudo -n systemctl stop flowlog-worker-default',
      'systemctl stop flowlog-worker-default',
      'sudo -n systemctl stop flowlog-web',
      'systemctl stop flowlog-web',
    ]);
  });

  it('compose: up -d on the named services of the release compose file, stop, and ps for status', async () => {
    const manifest = manifestOf(`app: secretaria
host: vps-1
root: ${dir}/secretaria
source: { type: git, repo: /srv/git/secretaria.git }
services:
  - { name: stack, type: compose, file: docker-compose.prod.yml, services: [app, worker] }
`);
    writeFileSync(path.join(dir, 'calls.log'), '');
    const release = path.join(dir, 'secretaria', 'releases', 'r1');
    mkdirSync(release, { recursive: true });
    // before the first release there is no compose file, and nothing to stop
    expect(await run(() => activities.stopServices({ manifest, dir: release }))).toEqual([
      'docker-compose.prod.yml: not deployed here yet, nothing to stop',
    ]);
    writeFileSync(path.join(release, 'docker-compose.prod.yml'), 'services: {}\n');
    await run(() => activities.startServices({ manifest, dir: release }));
    const status = await run(() => activities.servicesStatus({ manifest, dir: release }));
    await run(() => activities.stopServices({ manifest, dir: release }));
    const file = path.join(release, 'docker-compose.prod.yml');
    expect(stand.calls()).toEqual([
      `docker compose -f ${file} -p secretaria up -d --remove-orphans app worker`,
      `docker compose -f ${file} -p secretaria ps --status running --quiet app worker`,
      `docker compose -f ${file} -p secretaria stop app worker`,
    ]);
    expect(status).toEqual([{ name: 'stack', type: 'compose', running: true }]);
  });

  it('command: custom start, stop and status commands; a failing start says what failed', async () => {
    const manifest = manifestOf(`app: custom
host: h
root: ${dir}/custom
source: { type: copy, from: ${dir} }
services:
  - { name: api, type: command, start: "systemctl restart custom-api", stop: [systemctl, stop, custom-api], status: "sh -c 'exit 3'" }
`);
    writeFileSync(path.join(dir, 'calls.log'), '');
    mkdirSync(path.join(dir, 'custom'), { recursive: true });
    await run(() => activities.startServices({ manifest, dir: path.join(dir, 'custom') }));
    await run(() => activities.stopServices({ manifest, dir: path.join(dir, 'custom') }));
    expect(stand.calls()).toEqual(['systemctl restart custom-api', 'systemctl stop custom-api']);
    expect(await run(() => activities.servicesStatus({ manifest, dir: path.join(dir, 'custom') }))).toEqual([
      { name: 'api', type: 'command', running: false },
    ]);

    const broken = manifestOf(`app: custom
host: h
root: ${dir}/custom
source: { type: copy, from: ${dir} }
services:
  - { name: api, type: command, start: "sh -c 'echo no such unit >&2; exit 5'", stop: "true" }
`);
    await expect(
      run(() => activities.startServices({ manifest: broken, dir: path.join(dir, 'custom') })),
    ).rejects.toThrow(/api start .* exited with status 5:\nno such unit/);
  });

  it('process: starts detached with a record and log, stops by its process tree, and first stops whoever holds its port', async () => {
    const port = await freePort();
    const appDir = path.join(dir, 'proc-app');
    cpSync(DEMO_APP, appDir, { recursive: true });
    const manifest = manifestOf(`app: proc
host: h
root: ${dir}/proc
strategy: in-place
source: { type: copy, from: ${appDir} }
services:
  - { name: web, type: process, start: [python3, app.py, "${port}"], port: ${port}, log: app.log, stopTimeout: 3s }
`);
    // someone else already listens on the port, as a stale process on 5000 does in the Almareia guide
    const squatter = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
      stdio: 'ignore',
      detached: true,
    });
    await waitFor(async () => {
      if (pidsListeningOn(port).length === 0) throw new Error('not listening yet');
    }, 10_000);

    const [started] = await run(() => activities.startServices({ manifest, dir: appDir }));
    expect(started).toMatch(
      new RegExp(`stopped web \\(pid ${squatter.pid}\\); started web \\(pid \\d+, log ${appDir}/app.log\\)`),
    );
    expect(isAlive(squatter.pid!)).toBe(false);
    const body = await (await fetch(`http://127.0.0.1:${port}/api/status`)).json();
    expect(body).toMatchObject({ version: 'v1', path: '/api/status' });

    const again = await run(() => activities.startServices({ manifest, dir: appDir }));
    expect(again[0]).toMatch(/web already running \(pid \d+\)/);
    expect(await run(() => activities.servicesStatus({ manifest }))).toEqual([
      { name: 'web', type: 'process', running: true },
    ]);

    const [stopped] = await run(() => activities.stopServices({ manifest, dir: appDir }));
    expect(stopped).toMatch(/stopped web \(pid \d+\)/);
    expect(pidsListeningOn(port)).toEqual([]);
    expect(readFileSync(path.join(appDir, 'app.log'), 'utf8')).toContain(`listening on 127.0.0.1:${port}`);
  });

  it('process: one that exits at start is named with its last words, however long its log has grown', async () => {
    const appDir = path.join(dir, 'chatty');
    mkdirSync(appDir, { recursive: true });
    // Years of earlier releases' lines: more than one string holds.
    const fd = openSync(path.join(appDir, 'app.log'), 'w');
    const block = Buffer.from('GET / 200 0.4ms\n'.repeat(512 * 1024));
    for (let written = 0; written < BEYOND_ONE_STRING; written += block.length) writeSync(fd, block);
    closeSync(fd);
    const manifest = manifestOf(`app: chatty
host: h
root: ${dir}/chatty-root
source: { type: copy, from: ${appDir} }
services:
  - { name: web, type: process, start: [sh, -c, "echo 'ImportError: no module named flask' >&2; exit 3"], log: app.log }
`);
    await expect(run(() => activities.startServices({ manifest, dir: appDir }))).rejects.toThrow(
      /^web exited right after starting \(status 3\); its log says:\nImportError: no module named flask$/,
    );
  });

  it('process: its log can be rotated with copytruncate while it runs: later lines land at the new start', async () => {
    const manifest = manifestOf(`app: rotated
host: h
root: ${dir}/rotated
source: { type: copy, from: ${dir} }
services:
  - { name: ticker, type: process, start: [sh, -c, "while :; do echo tick; sleep 0.05; done"], stopTimeout: 2s }
`);
    const log = logFile(manifest.services[0] as Parameters<typeof logFile>[0], { manifest, dir });
    await run(() => activities.startServices({ manifest, dir }));
    try {
      await waitFor(async () => {
        if (!existsSync(log) || statSync(log).size < 100) throw new Error('not logging yet');
      }, 10_000);
      truncateSync(log, 0); // what logrotate's copytruncate does once it has copied the log
      await waitFor(async () => {
        if (!readFileSync(log, 'utf8').includes('tick')) throw new Error('nothing logged since');
      }, 10_000);
      // Written where the file now ends, not at the old offset past a hole of NUL bytes.
      expect(readFileSync(log, 'utf8')).toMatch(/^(tick\n)+(tick)?$/);
    } finally {
      await run(() => activities.stopServices({ manifest, dir }));
    }
  });

  it('process: an upgrade stops a service an older Runbook started, from the pid file it kept in the app folder', async () => {
    const root = path.join(dir, 'legacy');
    mkdirSync(root, { recursive: true });
    const manifest = manifestOf(`app: legacy
host: h
root: ${root}
strategy: in-place
source: { type: copy, from: ${dir} }
services:
  - { name: worker, type: process, start: [sleep, "300"], stopTimeout: 2s }
`);
    const old = spawn('sleep', ['300'], { cwd: root, detached: true, stdio: 'ignore' });
    const planted = spawn('sleep', ['300'], { cwd: '/', detached: true, stdio: 'ignore' });
    const runDir = `${root}.runbook/run`;
    mkdirSync(runDir, { recursive: true });
    const legacy = (pid: number) =>
      writeFileSync(
        path.join(runDir, 'worker.pid'),
        JSON.stringify({ pid, dir: root, startedAt: new Date().toISOString() }),
      );
    try {
      // A pid written there that names a process outside the app (an attacker's, or a reused pid) is ignored.
      legacy(planted.pid!);
      expect(await run(() => activities.stopServices({ manifest, dir: root }))).toEqual(['worker was not running']);
      expect(isAlive(planted.pid!)).toBe(true);

      legacy(old.pid!);
      expect(await run(() => activities.stopServices({ manifest, dir: root }))).toEqual([
        `stopped worker (pid ${old.pid})`,
      ]);
      expect(isAlive(old.pid!)).toBe(false);
      expect(existsSync(path.join(runDir, 'worker.pid'))).toBe(false);
    } finally {
      old.kill('SIGKILL');
      planted.kill('SIGKILL');
    }
  });
});
