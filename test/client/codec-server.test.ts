import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec } from '../../src/client/codec';
import { startCodecServer, toJsonPayload, type CodecServer } from '../../src/client/codec-server';

const UI = 'http://127.0.0.1:8233';

describe('runbook codec-server (the Web UI and temporal CLI codec endpoint)', () => {
  const codec = new AesGcmCodec({ current: 'k1', keys: new Map([['k1', randomBytes(32)]]) });
  let server: CodecServer;
  let open: CodecServer;
  beforeAll(async () => {
    server = await startCodecServer({ codec, host: '127.0.0.1', port: 0, corsOrigins: [UI], authToken: 's3cret' });
    open = await startCodecServer({ codec, host: '127.0.0.1', port: 0, corsOrigins: [] });
  });
  afterAll(async () => {
    await server?.close();
    await open?.close();
  });

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('decodes what the workers encrypted, in the API JSON form, with the token in the header or the path', async () => {
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload({ app: 'almareia' })]);
    const body = { payloads: [toJsonPayload(encrypted)] };
    for (const [url, headers] of [
      [`${server.url}/decode`, { Authorization: 'Bearer s3cret' }],
      [`${server.url}/s3cret/decode`, {}],
    ] as const) {
      const response = await post(url, body, headers);
      expect(response.status).toBe(200);
      const { payloads } = (await response.json()) as {
        payloads: Array<{ metadata: Record<string, string>; data: string }>;
      };
      expect(Buffer.from(payloads[0].metadata.encoding, 'base64').toString()).toBe('json/plain');
      expect(JSON.parse(Buffer.from(payloads[0].data, 'base64').toString())).toEqual({ app: 'almareia' });
    }
  });

  it('refuses a missing or wrong token, and anything but POST /encode or /decode', async () => {
    const body = { payloads: [] };
    expect((await post(`${server.url}/decode`, body)).status).toBe(401);
    expect((await post(`${server.url}/decode`, body, { Authorization: 'Bearer guess' })).status).toBe(401);
    expect((await post(`${server.url}/guess/decode`, body)).status).toBe(401);
    expect((await post(`${server.url}/s3cret/other`, body)).status).toBe(404);
    expect((await fetch(`${server.url}/s3cret/decode`)).status).toBe(405);
    expect((await post(`${open.url}/decode`, body)).status).toBe(200);
  });

  it("answers the Web UI's CORS preflight for its origin only", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/s3cret/decode`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
      });
    const allowed = await preflight(UI);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('X-Namespace');
    expect((await preflight('http://evil.example')).status).toBe(403);
    const fromElsewhere = await post(
      `${server.url}/s3cret/decode`,
      { payloads: [] },
      { Origin: 'http://evil.example' },
    );
    expect(fromElsewhere.status).toBe(403);
  });

  it('says what is wrong with a body or a payload it cannot decrypt', async () => {
    const bad = await post(`${open.url}/decode`, { nope: 1 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'bad request: expected {"payloads": [...]}' });
    const other = new AesGcmCodec({ current: 'k9', keys: new Map([['k9', randomBytes(32)]]) });
    const [foreign] = await other.encode([defaultPayloadConverter.toPayload('x')]);
    const unknown = await post(`${open.url}/decode`, { payloads: [toJsonPayload(foreign)] });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: "payload encrypted with key id 'k9': set RUNBOOK_CODEC_KEY_k9 to read it",
    });
  });
});
