import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type * as AgeModule from 'age-encryption';

/*
 * Encryption of off-site copies with age (https://age-encryption.org), streamed: a dump of any size is
 * encrypted chunk by chunk on its way to the storage and decrypted on its way back.
 *
 * `age-encryption` is published as an ES module only, and this project compiles to CommonJS. It is loaded
 * on first use with a dynamic import, which compiles to require(): Node 20.19 and later load an ES module
 * through require() (package.json's engines says so), and the Jest config transforms it for the tests.
 * Only workers that encrypt or decrypt load it.
 */

let loaded: Promise<typeof AgeModule> | undefined;

function age(): Promise<typeof AgeModule> {
  loaded ??= import('age-encryption');
  return loaded;
}

/** The encrypted form of a stream, readable only with the private key of one of the recipients. */
export async function encryptStream(source: Readable, recipients: readonly string[]): Promise<Readable> {
  const { Encrypter } = await age();
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  return throughWebStreams(source, (web) => encrypter.encrypt(web));
}

/**
 * The plaintext of an age stream. Fails while reading the header when none of the identities opens it,
 * and while reading the body when a chunk was altered (age authenticates every 64 KiB).
 */
export async function decryptStream(source: Readable, identities: readonly string[]): Promise<Readable> {
  const { Decrypter } = await age();
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  return throughWebStreams(source, (web) => decrypter.decrypt(web));
}

/** The identities in a variable's value: one `AGE-SECRET-KEY-…` per line, as in an age identity file. */
export function parseIdentities(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => /^AGE-SECRET-KEY-/.test(line));
}

/** A new key pair, for tests and for `runbook` docs' setup step. */
export async function generateKeyPair(): Promise<{ identity: string; recipient: string }> {
  const { generateIdentity, identityToRecipient } = await age();
  const identity = await generateIdentity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** age works on web streams; Runbook's file work on Node streams. */
async function throughWebStreams(
  source: Readable,
  transform: (web: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>,
): Promise<Readable> {
  const result = await transform(Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(result as unknown as WebReadableStream<Uint8Array>);
}
