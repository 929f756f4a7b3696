import { Readable } from 'node:stream';
import { decryptStream, encryptStream, generateKeyPair, parseIdentities } from '../../../src/activities/offsite/age';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

describe('age encryption of off-site copies (the ES-module-only age-encryption package)', () => {
  it('round-trips a stream larger than one age chunk for the right key and refuses another key', async () => {
    const alice = await generateKeyPair();
    const other = await generateKeyPair();
    const plain = Buffer.alloc(300_000, 'pg_dump ');
    const encrypted = await collect(await encryptStream(Readable.from([plain]), [alice.recipient]));
    expect(encrypted.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(encrypted.includes(Buffer.from('pg_dump pg_dump'))).toBe(false);

    expect(await collect(await decryptStream(Readable.from([encrypted]), [alice.identity]))).toEqual(plain);
    await expect(decryptStream(Readable.from([encrypted]), [other.identity])).rejects.toThrow(/identit/i);
  });

  it('reads identities from a variable holding an identity file', () => {
    expect(parseIdentities('# created: 2026\n# public key: age1abc\nAGE-SECRET-KEY-1QQQ\n\n')).toEqual([
      'AGE-SECRET-KEY-1QQQ',
    ]);
  });
});
