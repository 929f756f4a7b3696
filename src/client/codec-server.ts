/**
 * The remote codec the Temporal Web UI (its codec endpoint setting) and the temporal CLI (--codec-endpoint)
 * call to show encrypted payloads decoded: POST /decode and /encode with `{"payloads": [...]}` in the API's
 * JSON form. CORS admits the UI's origins only. With a token, a request must carry it, either as
 * `Authorization: Bearer <token>` (the temporal CLI's --codec-auth, scripts) or as the first path segment
 * (`http://host:8888/<token>`, for a UI that has no login to pass a token from).
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  host: string;
  port: number;
  /** Origins allowed to call from a browser (the Web UI's URL); none: no browser may. */
  corsOrigins: string[];
  authToken?: string;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export function toJsonPayload(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  };
}

export function fromJsonPayload(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Which operation a request asks for, once its token (if one is required) checks out. */
export function route(
  method: string,
  pathname: string,
  authorization: string | undefined,
  token: string | undefined,
): { status: 200; operation: 'encode' | 'decode' } | { status: 401 | 404 | 405; error: string } {
  const segments = pathname.split('/').filter(Boolean);
  let authorized = token === undefined;
  if (token !== undefined && segments.length === 2 && tokenMatches(segments[0], token)) {
    authorized = true;
    segments.shift();
  }
  const bearer = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  if (token !== undefined && bearer !== undefined && tokenMatches(bearer, token)) authorized = true;
  if (!authorized) return { status: 401, error: 'missing or wrong codec token' };
  const operation = segments.length === 1 ? segments[0] : undefined;
  if (operation !== 'encode' && operation !== 'decode')
    return { status: 404, error: 'POST /encode or /decode with {"payloads": [...]}' };
  if (method !== 'POST') return { status: 405, error: 'use POST' };
  return { status: 200, operation };
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const server = http.createServer((request, response) => {
    const origin = request.headers.origin;
    const allowed = origin !== undefined && options.corsOrigins.includes(origin);
    if (allowed) {
      response.setHeader('Access-Control-Allow-Origin', origin);
      response.setHeader('Access-Control-Allow-Credentials', 'true');
      response.setHeader('Vary', 'Origin');
    }
    if (request.method === 'OPTIONS') {
      if (!allowed) return reply(response, 403, { error: `origin ${origin ?? '(none)'} is not allowed` });
      response.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      response.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      response.setHeader('Access-Control-Max-Age', '600');
      response.writeHead(204).end();
      return;
    }
    if (origin !== undefined && !allowed) return reply(response, 403, { error: `origin ${origin} is not allowed` });
    const url = new URL(request.url ?? '/', 'http://codec');
    const routed = route(request.method ?? 'GET', url.pathname, request.headers.authorization, options.authToken);
    if (routed.status !== 200) return reply(response, routed.status, { error: routed.error });
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy();
      else chunks.push(chunk);
    });
    request.on('end', () => {
      void (async () => {
        let payloads: Payload[];
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] };
          if (!Array.isArray(body.payloads)) throw new Error('expected {"payloads": [...]}');
          payloads = body.payloads.map(fromJsonPayload);
        } catch (error) {
          return reply(response, 400, { error: `bad request: ${(error as Error).message}` });
        }
        try {
          const result =
            routed.operation === 'decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
          reply(response, 200, { payloads: result.map(toJsonPayload) });
        } catch (error) {
          reply(response, 400, { error: (error as Error).message });
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
