import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, codecKeysFromEnv, dataConverterFromEnv, ENCRYPTED_ENCODING } from '../../src/client/codec';
import { UsageError } from '../../src/client/errors';

const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('hex');

function codec(env: NodeJS.ProcessEnv): AesGcmCodec {
  const keys = codecKeysFromEnv(env);
  if (!keys) throw new Error('no keys');
  return new AesGcmCodec(keys);
}

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();

describe('AES-256-GCM payload codec', () => {
  const input = defaultPayloadConverter.toPayload({ app: 'almareia', ref: 'v2', output: 'migrated 3 tables' });

  it('encrypts a payload whole (metadata too) under the current key id, and decrypts it back', async () => {
    const a = codec({ RUNBOOK_CODEC_KEY_ID: 'a', RUNBOOK_CODEC_KEY_a: KEY_A });
    const [encrypted] = await a.encode([input]);
    expect(text(encrypted.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted.metadata?.['encryption-key-id'])).toBe('a');
    expect(text(encrypted.metadata?.['encryption-cipher'])).toBe('AES-256-GCM');
    expect(text(encrypted.data)).not.toContain('almareia');
    expect(text(encrypted.data)).not.toContain('json/plain');
    const [decrypted] = await a.decode([encrypted]);
    expect(defaultPayloadConverter.fromPayload(decrypted)).toEqual({
      app: 'almareia',
      ref: 'v2',
      output: 'migrated 3 tables',
    });
    // A fresh IV each time: the same input never gives the same bytes.
    const [again] = await a.encode([input]);
    expect(Buffer.compare(Buffer.from(again.data ?? []), Buffer.from(encrypted.data ?? []))).not.toBe(0);
  });

  it('rotates by key id: new payloads use the new key, old ones still decrypt while the old key is kept', async () => {
    const [old] = await codec({ RUNBOOK_CODEC_KEY_ID: 'a', RUNBOOK_CODEC_KEY_a: KEY_A }).encode([input]);
    const rotated = codec({ RUNBOOK_CODEC_KEY_ID: 'b', RUNBOOK_CODEC_KEY_a: KEY_A, RUNBOOK_CODEC_KEY_b: KEY_B });
    const [fresh] = await rotated.encode([input]);
    expect(text(fresh.metadata?.['encryption-key-id'])).toBe('b');
    const decoded = await rotated.decode([old, fresh]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([
      defaultPayloadConverter.fromPayload(input),
      defaultPayloadConverter.fromPayload(input),
    ]);
    const withoutOld = codec({ RUNBOOK_CODEC_KEY_ID: 'b', RUNBOOK_CODEC_KEY_b: KEY_B });
    await expect(withoutOld.decode([old])).rejects.toThrow(
      "payload encrypted with key id 'a': set RUNBOOK_CODEC_KEY_a to read it",
    );
  });

  it('decodes but no longer encrypts once RUNBOOK_CODEC_KEY_ID is unset; plain payloads pass through', async () => {
    const [old] = await codec({ RUNBOOK_CODEC_KEY_ID: 'a', RUNBOOK_CODEC_KEY_a: KEY_A }).encode([input]);
    const decodeOnly = codec({ RUNBOOK_CODEC_KEY_a: KEY_A });
    expect(decodeOnly.encrypting).toBe(false);
    expect(await decodeOnly.encode([input])).toEqual([input]);
    expect(await decodeOnly.decode([input])).toEqual([input]);
    expect(defaultPayloadConverter.fromPayload((await decodeOnly.decode([old]))[0])).toMatchObject({ app: 'almareia' });
  });

  it('refuses a payload whose bytes were changed (the GCM tag), or whose key id was swapped', async () => {
    const env = { RUNBOOK_CODEC_KEY_ID: 'a', RUNBOOK_CODEC_KEY_a: KEY_A, RUNBOOK_CODEC_KEY_b: KEY_A };
    const [encrypted] = await codec(env).encode([input]);
    const tampered = Buffer.from(encrypted.data ?? []);
    tampered[20] ^= 1;
    await expect(codec(env).decode([{ ...encrypted, data: tampered }])).rejects.toThrow(/authenticate/);
    const swapped = { ...encrypted, metadata: { ...encrypted.metadata, 'encryption-key-id': Buffer.from('b') } };
    await expect(codec(env).decode([swapped])).rejects.toThrow(/authenticate/);
  });

  it('is off without keys, and names the variable of a missing or malformed key', () => {
    expect(codecKeysFromEnv({})).toBeUndefined();
    expect(dataConverterFromEnv({})).toBeUndefined();
    expect(() => codecKeysFromEnv({ RUNBOOK_CODEC_KEY_ID: 'k1' })).toThrow(
      new UsageError('RUNBOOK_CODEC_KEY_ID=k1 but RUNBOOK_CODEC_KEY_k1 is not set'),
    );
    expect(() => codecKeysFromEnv({ RUNBOOK_CODEC_KEY_k1: 'c2hvcnQ=' })).toThrow(
      'RUNBOOK_CODEC_KEY_k1: expected a 256-bit key, 32 bytes in base64 or 64 hex digits (got 5 bytes)',
    );
    expect(() => codecKeysFromEnv({ 'RUNBOOK_CODEC_KEY_k-1': KEY_A })).toThrow(
      'RUNBOOK_CODEC_KEY_k-1: a key id may hold only letters, digits and _',
    );
  });

  it('moves failure messages into encrypted attributes only while encrypting', () => {
    expect(dataConverterFromEnv({ RUNBOOK_CODEC_KEY_ID: 'a', RUNBOOK_CODEC_KEY_a: KEY_A })).toMatchObject({
      failureConverterPath: expect.stringMatching(/encoded-failures/),
    });
    expect(dataConverterFromEnv({ RUNBOOK_CODEC_KEY_a: KEY_A })).not.toHaveProperty('failureConverterPath');
  });
});
