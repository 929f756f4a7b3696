import http from 'node:http';
import { freePort } from '../../src/devserver/ports';
import { waitFor } from './postgres';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface HttpRecorder {
  url: string;
  requests: RecordedRequest[];
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/**
 * A local HTTP server that records every request and answers as `reply` says ('hang' never answers),
 * standing in for a webhook receiver or SendGrid's API.
 */
export async function startHttpRecorder(
  reply: (request: RecordedRequest, index: number) => Reply = () => ({ status: 200 }),
): Promise<HttpRecorder> {
  const requests: RecordedRequest[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const answer = reply(request, requests.length - 1);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? '');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async waitForRequests(count, timeoutMs = 30_000) {
      await waitFor(async () => {
        if (requests.length < count) throw new Error(`expected ${count} request(s), got ${requests.length}`);
      }, timeoutMs);
      return requests;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
