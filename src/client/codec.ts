/**
 * Optional payload encryption: AES-256-GCM over every payload the SDK encodes (workflow and activity inputs and
 * results, heartbeats, failure details, memos, summaries, queries, signals). Keys are named by environment
 * variable: RUNBOOK_CODEC_KEY_ID says which key encrypts new payloads, RUNBOOK_CODEC_KEY_<id> holds each key
 * (32 bytes, base64: `openssl rand -base64 32`). A payload records its key id, so rotating is: add the new key,
 * point RUNBOOK_CODEC_KEY_ID at it, keep the old ones while histories encrypted with them are read.
 * Search attributes are never encoded: they stay plain for the Web UI's filters and hold no secrets.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { UsageError } from './errors';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export const CURRENT_KEY_VARIABLE = 'RUNBOOK_CODEC_KEY_ID';
const KEY_PREFIX = 'RUNBOOK_CODEC_KEY_';
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9_]*$/;

export function keyVariable(keyId: string): string {
  return `${KEY_PREFIX}${keyId}`;
}

export interface CodecKeys {
  /** The key id new payloads are encrypted with; undefined: decode only (encryption turned off). */
  current?: string;
  keys: Map<string, Buffer>;
}

/** The keys in the environment, checked; undefined when none is configured (payloads stay plain). */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKeys | undefined {
  const keys = new Map<string, Buffer>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(KEY_PREFIX) || name === CURRENT_KEY_VARIABLE || !value) continue;
    const id = name.slice(KEY_PREFIX.length);
    if (!KEY_ID.test(id)) throw new UsageError(`${name}: a key id may hold only letters, digits and _`);
    keys.set(id, parseKey(name, value));
  }
  const current = env[CURRENT_KEY_VARIABLE] || undefined;
  if (current !== undefined) {
    if (!KEY_ID.test(current) || current === 'ID')
      throw new UsageError(`${CURRENT_KEY_VARIABLE}=${current}: a key id is letters, digits and _ (not ID)`);
    if (!keys.has(current))
      throw new UsageError(
        `${CURRENT_KEY_VARIABLE}=${current} but ${keyVariable(current)} is not set`,
        `set ${keyVariable(current)} to the key (openssl rand -base64 32)`,
      );
  }
  return keys.size > 0 ? { current, keys } : undefined;
}

function parseKey(name: string, value: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32)
    throw new UsageError(
      `${name}: expected a 256-bit key, 32 bytes in base64 or 64 hex digits (got ${key.length} bytes)`,
      'make one with: openssl rand -base64 32',
    );
  return key;
}

/** Encrypts with the current key (when there is one) and decrypts with whichever key a payload names. */
export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {}

  get encrypting(): boolean {
    return this.keys.current !== undefined;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const id = this.keys.current;
    if (id === undefined) return payloads;
    const key = this.keys.keys.get(id) as Buffer;
    return payloads.map((payload) => {
      if (encodingOf(payload) === ENCRYPTED_ENCODING) return payload;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(id));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(id),
          [CIPHER_METADATA]: Buffer.from(CIPHER),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (encodingOf(payload) !== ENCRYPTED_ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.keys.keys.get(id);
      if (!key) throw new Error(`payload encrypted with key id '${id}': set ${keyVariable(id)} to read it`);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error(`payload encrypted with key id '${id}' is truncated`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

function encodingOf(payload: Payload): string | undefined {
  const encoding = payload.metadata?.encoding;
  return encoding ? Buffer.from(encoding).toString() : undefined;
}

/** The client's and workers' data converter: undefined (the SDK's default) when no key is configured. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const keys = codecKeysFromEnv(env);
  if (!keys) return undefined;
  const codec = new AesGcmCodec(keys);
  return {
    payloadCodecs: [codec],
    // Failures' messages and stack traces (which name apps, refs and command output) move into an encoded payload
    // when encrypting. Workflows load the same converter from their own bundle (scripts/bundle-workflows.js).
    ...(codec.encrypting ? { failureConverterPath: require.resolve('../common/encoded-failures') } : {}),
  };
}
