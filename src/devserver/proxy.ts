/**
 * A real nginx or Caddy (Debian's packages) in a throwaway folder, in front of a blue/green service, for the
 * tests, the bench and trying the switch out: the same configuration a team writes, on free ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nginxUpstreamText, type ProxyConfig } from '../activities/services/proxy';
import { freePort } from './ports';

export interface LocalProxy {
  /** Where clients send requests: http://127.0.0.1:<port>. */
  url: string;
  /** The manifest's `blueGreen.proxy` for this proxy. */
  manifestProxy: ProxyConfig;
  stop(): Promise<void>;
}

/**
 * nginx on a free port whose upstream block includes the file Runbook writes; the file starts out pointing
 * at `initialPort` (nginx refuses an upstream block without a server).
 */
export async function startNginx(initialPort: number): Promise<LocalProxy> {
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'runbook-nginx-'));
  const port = await freePort();
  const upstreamFile = path.join(prefix, 'upstream', 'app.conf');
  mkdirSync(path.dirname(upstreamFile), { recursive: true });
  writeFileSync(upstreamFile, nginxUpstreamText(initialPort));
  const conf = path.join(prefix, 'nginx.conf');
  const temp = (name: string) => `${name}_temp_path ${path.join(prefix, 'temp', name)};`;
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  upstream app {
    include ${upstreamFile};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  mkdirSync(path.join(prefix, 'temp'), { recursive: true });
  const nginx = [nginxBinary(), '-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')];
  const child = spawn(nginx[0], nginx.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  await listening(child, port, 'nginx');
  return {
    url: `http://127.0.0.1:${port}`,
    manifestProxy: {
      type: 'nginx',
      upstreamFile,
      test: [...nginx, '-t', '-q'],
      reload: [...nginx, '-s', 'reload'],
      pidFile: path.join(prefix, 'nginx.pid'),
    },
    stop: () => stopProxy(child, prefix),
  };
}

/** Caddy on a free port with its admin API on another; the reverse_proxy handler has the given @id. */
export async function startCaddy(initialPort: number, upstreamId = 'app'): Promise<LocalProxy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-caddy-'));
  const [port, adminPort] = [await freePort(), await freePort()];
  const config = {
    admin: { listen: `127.0.0.1:${adminPort}` },
    logging: { logs: { default: { level: 'ERROR' } } },
    storage: { module: 'file_system', root: path.join(dir, 'data') },
    apps: {
      http: {
        servers: {
          app: {
            listen: [`127.0.0.1:${port}`],
            automatic_https: { disable: true },
            routes: [
              {
                handle: [
                  { handler: 'reverse_proxy', '@id': upstreamId, upstreams: [{ dial: `127.0.0.1:${initialPort}` }] },
                ],
              },
            ],
          },
        },
      },
    },
  };
  const file = path.join(dir, 'caddy.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn('caddy', ['run', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir },
  });
  await listening(child, port, 'caddy');
  // The port could answer for another process that took it since freePort: the handler's id answers only here.
  await listening(child, adminPort, 'caddy admin API', `/id/${upstreamId}`);
  return {
    url: `http://127.0.0.1:${port}`,
    manifestProxy: { type: 'caddy', admin: `http://127.0.0.1:${adminPort}`, upstreamId },
    stop: () => stopProxy(child, dir),
  };
}

/** Debian puts nginx in /usr/sbin, which a user's PATH may lack. */
function nginxBinary(): string {
  const inPath = (process.env.PATH ?? '').split(':').find((dir) => dir && existsSync(path.join(dir, 'nginx')));
  return inPath ? path.join(inPath, 'nginx') : '/usr/sbin/nginx';
}

async function listening(child: ChildProcess, port: number, name: string, okPath?: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${stderr}`);
    // any answer, 502 included, says the proxy listens; okPath must answer 2xx
    const answered = await fetch(`http://127.0.0.1:${port}${okPath ?? '/'}`, { signal: AbortSignal.timeout(1_000) })
      .then((response) => okPath === undefined || response.ok)
      .catch(() => false);
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`${name} did not answer on ${port}: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopProxy(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    child.kill('SIGTERM'); // nginx: fast shutdown; caddy: graceful stop
    await new Promise((resolve) => child.once('exit', resolve));
  }
  rmSync(dir, { recursive: true, force: true });
}
