/**
 * A client that keeps requesting a URL on this machine and counts what failed: how the zero-downtime switch
 * is judged. It behaves as browsers and HTTP libraries do: a few keep-alive connections at once, and a GET
 * sent on a reused idle connection that the server closed at that moment (a proxy's reload closes its idle
 * connections) is sent again on a new one, as RFC 9112 §9.3.1 allows; those are counted apart. Any other
 * error, or any non-2xx answer, is a failed request. Bounded: it stops when told, or after `maxMs`.
 */
import http from 'node:http';

export interface HammerReport {
  ok: number;
  failed: number;
  /** The first failures, as the client saw them (status or error). */
  failures: string[];
  /** Requests sent again because the idle keep-alive connection they were sent on was closed under them. */
  resentOnClosedIdleConnection: number;
  /** Versions the app answered with, in the order first seen (the demo app names its version). */
  versions: string[];
  /** The longest time between two successful answers, in ms. */
  longestGapMs: number;
}

export interface Hammer {
  stop(): Promise<HammerReport>;
}

export function hammer(url: string, options: { concurrency?: number; maxMs?: number } = {}): Hammer {
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//.test(url))
    throw new Error(`hammer only requests this machine's loopback addresses, not ${url}`);
  const concurrency = options.concurrency ?? 4;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const report: HammerReport = {
    ok: 0,
    failed: 0,
    failures: [],
    resentOnClosedIdleConnection: 0,
    versions: [],
    longestGapMs: 0,
  };
  const deadline = Date.now() + (options.maxMs ?? 300_000);
  let stopping = false;
  let lastOk = Date.now();
  const loop = async () => {
    while (!stopping && Date.now() < deadline) {
      try {
        const { status, body } = await getResending(url, agent, () => (report.resentOnClosedIdleConnection += 1));
        if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
        const now = Date.now();
        report.longestGapMs = Math.max(report.longestGapMs, now - lastOk);
        lastOk = now;
        report.ok += 1;
        const version = versionOf(body);
        if (version && !report.versions.includes(version)) report.versions.push(version);
      } catch (error) {
        report.failed += 1;
        if (report.failures.length < 20)
          report.failures.push(`${new Date().toISOString().slice(11, 23)} ${(error as Error).message}`);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      agent.destroy();
      return report;
    },
  };
}

/** One GET; sent once more when it failed before any answer on a reused keep-alive connection. */
async function getResending(
  url: string,
  agent: http.Agent,
  onResend: () => void,
): Promise<{ status: number; body: string }> {
  try {
    return await get(url, agent);
  } catch (error) {
    if (!(error as { reusedSocket?: boolean }).reusedSocket) throw error;
    onResend();
    // On a new connection, as a browser does: another idle socket of the pool may be closing as well.
    return get(url, false);
  }
}

function get(url: string, agent: http.Agent | false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, timeout: 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 10s')));
    request.on('error', (error: NodeJS.ErrnoException) => {
      const closedUnderIt =
        agent !== false && request.reusedSocket && ['ECONNRESET', 'EPIPE'].includes(error.code ?? '');
      reject(
        Object.assign(new Error(`${error.message}${error.code ? ` (${error.code})` : ''}`), {
          reusedSocket: closedUnderIt,
        }),
      );
    });
  });
}

function versionOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { version?: string }).version;
  } catch {
    return undefined;
  }
}
