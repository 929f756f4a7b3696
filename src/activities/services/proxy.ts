/**
 * The reverse proxy in front of a blue/green service: the team's own nginx or Caddy. Runbook changes only
 * where the proxy sends the service's requests (one upstream) and lets the proxy apply it gracefully
 * (nginx reload, Caddy's admin API), so requests in flight finish and new ones go to the new port.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { commandToArgv } from '../../manifest/argv';
import type { Service } from '../../manifest/types';
import { writeFileAtomic } from '../atomic-write';
import { reportProgress } from '../attempt';
import { describeFailure, runCommand } from '../shell';
import { failure } from '../../common/failures';

export type BlueGreen = NonNullable<Extract<Service, { type: 'process' }>['blueGreen']>;
export type ProxyConfig = BlueGreen['proxy'];

export interface Proxy {
  /** The port the proxy sends the service's requests to now, if it sends them anywhere yet. */
  current(): Promise<number | undefined>;
  /** Points the proxy at 127.0.0.1:<port>, checked before it is applied; says what it did. */
  switchTo(port: number): Promise<string>;
}

export function proxyFor(config: ProxyConfig, env: NodeJS.ProcessEnv): Proxy {
  return config.type === 'nginx' ? nginxProxy(config, env) : caddyProxy(config);
}

// ---- nginx: an included upstream file, `nginx -t`, then a graceful reload ---------------------------------

type NginxConfig = Extract<ProxyConfig, { type: 'nginx' }>;

/** The upstream file's text: one server line, included inside the site's `upstream` block. */
export function nginxUpstreamText(port: number): string {
  return `# written by Runbook (blue/green switch); include it inside an upstream block\nserver 127.0.0.1:${port};\n`;
}

export function nginxUpstreamPort(text: string): number | undefined {
  const match = /^\s*server\s+127\.0\.0\.1:(\d+)\s*;/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

function nginxProxy(config: NginxConfig, env: NodeJS.ProcessEnv): Proxy {
  const file = config.upstreamFile;
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);
  const write = async (text: string | undefined) => {
    if (text === undefined) return rmSync(file, { force: true });
    await writeFileAtomic(file, text);
  };
  const nginx = async (command: NginxConfig['test'], what: string) => {
    const result = await runCommand({ argv: commandToArgv(command), env, timeoutMs: 30_000 });
    if (result.exitCode !== 0) throw new Error(`${what} ${describeFailure(result, '').trim()}`);
  };
  return {
    async current() {
      const text = read();
      return text === undefined ? undefined : nginxUpstreamPort(text);
    },
    async switchTo(port) {
      const before = read();
      if (before !== undefined && nginxUpstreamPort(before) === port) {
        // Written by an earlier attempt that may have died before the reload: reloading again is harmless.
        await nginx(config.reload, 'nginx reload');
        return `nginx already sends to 127.0.0.1:${port} (reloaded)`;
      }
      await write(nginxUpstreamText(port));
      const master = nginxMaster(config.pidFile);
      const workers = master ? childPids(master) : [];
      try {
        await nginx(config.test, 'nginx configuration test');
        await nginx(config.reload, 'nginx reload');
      } catch (error) {
        await write(before); // the proxy keeps serving the old port
        throw failure(
          'ProxySwitchFailed',
          `${(error as Error).message}; ${file} is left as it was. Check that the site's upstream block includes it (upstream … { include ${file}; })`,
        );
      }
      const applied = master ? await reloaded(master, workers) : 'no master pid file to watch the reload by';
      return `nginx sends to 127.0.0.1:${port} (${file}, reloaded; ${applied})`;
    },
  };
}

function nginxMaster(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * `nginx -s reload` only signals the master. The switch has happened once the master runs workers of the
 * new configuration and the old ones (which still send to the old port) have finished their requests and
 * exited: until then the old release must keep running. Bounded, for a request that never ends.
 */
async function reloaded(master: number, oldWorkers: number[], timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = childPids(master);
    const renewed = now.some((pid) => !oldWorkers.includes(pid));
    const lingering = oldWorkers.filter((pid) => now.includes(pid));
    if (renewed && lingering.length === 0) return 'old workers finished';
    if (Date.now() > deadline)
      return `old workers ${lingering.join(', ')} still finishing requests after ${timeoutMs / 1000}s`;
    reportProgress({ waiting: 'nginx reload', lingering });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- Caddy: the admin API sets the reverse_proxy handler's upstreams -------------------------------------

type CaddyConfig = Extract<ProxyConfig, { type: 'caddy' }>;

/** The admin API request that points the handler with this @id at 127.0.0.1:<port>. */
export function caddyUpstreamsRequest(
  config: CaddyConfig,
  port?: number,
): { method: 'GET' | 'PATCH'; url: string; body?: string } {
  const url = `${config.admin.replace(/\/+$/, '')}/id/${config.upstreamId}/upstreams`;
  return port === undefined
    ? { method: 'GET', url }
    : { method: 'PATCH', url, body: JSON.stringify([{ dial: `127.0.0.1:${port}` }]) };
}

function caddyProxy(config: CaddyConfig): Proxy {
  const call = async (port?: number) => {
    const request = caddyUpstreamsRequest(config, port);
    let response: { status: number; text: string };
    try {
      response = await adminRequest(request);
    } catch (error) {
      throw failure(
        'ProxyUnreachable',
        `Caddy's admin API at ${config.admin} did not answer: ${(error as Error).message}`,
      );
    }
    if (response.status < 200 || response.status > 299)
      throw failure(
        'ProxySwitchFailed',
        `Caddy's admin API refused ${request.method} ${request.url} (HTTP ${response.status}: ${response.text.trim()}); give the reverse_proxy handler "@id": "${config.upstreamId}"`,
      );
    return response.text;
  };
  return {
    async current() {
      const upstreams = JSON.parse(await call()) as Array<{ dial?: string }> | null;
      const dial = upstreams?.[0]?.dial;
      const match = dial ? /^127\.0\.0\.1:(\d+)$/.exec(dial) : null;
      return match ? Number(match[1]) : undefined;
    },
    async switchTo(port) {
      await call(port);
      return `Caddy sends to 127.0.0.1:${port} (handler ${config.upstreamId})${reloadDropsConnections() ? CADDY_RESET_WARNING : ''}`;
    },
  };
}

/**
 * One request on its own connection: Caddy closes the admin API's open connections whenever its configuration
 * changes, so a read sent on the connection a switch kept alive can meet a closed socket.
 */
function adminRequest(request: {
  method: string;
  url: string;
  body?: string;
}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      request.url,
      {
        method: request.method,
        agent: false,
        headers: { 'Content-Type': 'application/json' },
        signal: AbortSignal.timeout(30_000),
      },
      (incoming) => {
        let text = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (text += chunk));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

const CADDY_RESET_WARNING =
  '; this host has net.ipv4.tcp_migrate_req=0, so connections arriving while Caddy applied the change could be reset: set it to 1 (docs/blue-green.md)';

/**
 * Caddy applies every configuration change on a new SO_REUSEPORT listening socket and closes the old one; the
 * kernel resets the connections still queued on the old socket unless it migrates them (tcp_migrate_req).
 */
function reloadDropsConnections(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim() === '0';
  } catch {
    return false; // a kernel without the setting, or no /proc: nothing to say
  }
}
