import { createHash } from 'node:crypto';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { OffsiteSettings } from '../../manifest/types';
import type { CatalogueEntry, OffsiteCopy } from '../catalogue';
import { requireEnv } from '../environment';
import { failure } from '../../common/failures';

/*
 * The S3 side of off-site copies: one client per activity, credentials read from the variables the manifest
 * names, and the layout of a bucket: `<prefix><artifact file>[.tar][.age]` holds the bytes, and
 * `<prefix><artifact id>.entry.json` describes them (the catalogue entry and the copy's checksum), so the
 * copies can be listed and restored from even when the host and its catalogue are gone.
 */

export type S3Settings = OffsiteSettings['s3'];

const MIB = 1024 * 1024;

export function s3Client(settings: S3Settings, env: NodeJS.ProcessEnv): S3Client {
  const purpose = `off-site copies in bucket ${settings.bucket}`;
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle ?? settings.endpoint !== undefined,
    credentials: {
      accessKeyId: requireEnv(env, settings.accessKeyIdEnv, purpose),
      secretAccessKey: requireEnv(env, settings.secretAccessKeyEnv, purpose),
      ...(settings.sessionTokenEnv ? { sessionToken: requireEnv(env, settings.sessionTokenEnv, purpose) } : {}),
    },
    // A stalled connection fails the request (and the attempt is retried) instead of hanging the activity.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
    maxAttempts: 5,
  });
}

/** The key prefix of an app's copies: the manifest's, or `<app>/`; always ending in a slash when set. */
export function keyPrefix(settings: S3Settings, app: string): string {
  const prefix = settings.prefix ?? `${app}/`;
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** Where an artifact's bytes go: its file name, `.tar` for a folder (a directory-format dump), `.age` when encrypted. */
export function objectKey(
  settings: S3Settings,
  entry: Pick<CatalogueEntry, 'app' | 'file' | 'format'>,
  encrypted: boolean,
): string {
  return `${keyPrefix(settings, entry.app)}${path.basename(entry.file)}${isFolder(entry) ? '.tar' : ''}${encrypted ? '.age' : ''}`;
}

export function sidecarKey(settings: S3Settings, app: string, id: string): string {
  return `${keyPrefix(settings, app)}${id}.entry.json`;
}

/** Directory-format dumps are folders: they travel as a tar stream. */
export function isFolder(entry: Pick<CatalogueEntry, 'format'>): boolean {
  return entry.format === 'directory';
}

/** What `<id>.entry.json` holds next to each copy. */
export interface Sidecar {
  entry: Omit<CatalogueEntry, 'offsite' | 'localDeletedAt'>;
  offsite: OffsiteCopy;
}

/** Passes bytes through while counting them and hashing them with sha256. */
export class Sha256Counter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Uploads a stream (multipart above one part), aborting the upload when `signal` fires. */
export async function uploadStream(
  client: S3Client,
  settings: S3Settings,
  request: { key: string; body: Readable; metadata: Record<string, string>; signal: AbortSignal },
): Promise<void> {
  const upload = new Upload({
    client,
    params: {
      Bucket: settings.bucket,
      Key: request.key,
      Body: request.body,
      // Each part carries its sha256; the storage refuses a part that arrives different.
      ChecksumAlgorithm: 'SHA256',
      Metadata: request.metadata,
    },
    partSize: settings.partSizeMb * MIB,
    queueSize: 2,
    leavePartsOnError: false,
  });
  const abort = () => void upload.abort().catch(() => undefined);
  request.signal.addEventListener('abort', abort, { once: true });
  try {
    await upload.done();
  } finally {
    request.signal.removeEventListener('abort', abort);
  }
}

/**
 * Aborts multipart uploads of a key left unfinished by an earlier attempt (a killed worker's): their parts
 * cost storage, and an attempt still running somewhere can then no longer complete over this one.
 */
export async function abortStaleUploads(client: S3Client, bucket: string, key: string): Promise<number> {
  const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  const stale = (listed.Uploads ?? []).filter((u) => u.Key === key && u.UploadId);
  for (const upload of stale)
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId }));
  return stale.length;
}

export async function objectStream(client: S3Client, bucket: string, key: string): Promise<Readable> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return object.Body as Readable;
  } catch (error) {
    if (error instanceof NoSuchKey || error instanceof NotFound)
      throw failure(
        'OffsiteCopyMissing',
        `the off-site copy s3://${bucket}/${key} does not exist (deleted by retention or by hand)`,
      );
    throw error;
  }
}

/** The object's size, or undefined when there is no such object. */
export async function objectSize(client: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    if (error instanceof NotFound || error instanceof NoSuchKey) return undefined;
    throw error;
  }
}

export async function readSidecar(client: S3Client, bucket: string, key: string): Promise<Sidecar | undefined> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await (object.Body as { transformToString(): Promise<string> }).transformToString()) as Sidecar;
  } catch (error) {
    if (error instanceof NoSuchKey || error instanceof NotFound) return undefined;
    throw error;
  }
}

export async function writeSidecar(client: S3Client, bucket: string, key: string, sidecar: Sidecar): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(sidecar, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}

/** Every sidecar under a prefix. */
export async function listSidecarKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? [])
      if (object.Key?.endsWith('.entry.json') && !object.Key.slice(prefix.length).includes('/')) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function deleteObject(client: S3Client, bucket: string, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** S3 errors no retry can fix (a wrong bucket, endpoint or credentials), as failures that say what to fix. */
const CONFIG_ERRORS = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
]);

export function explainS3Error(error: unknown, settings: S3Settings): unknown {
  const name = (error as { name?: string } | undefined)?.name;
  if (!name || !CONFIG_ERRORS.has(name)) return error;
  return failure(
    'OffsiteConfig',
    `s3://${settings.bucket}${settings.endpoint ? ` at ${settings.endpoint}` : ''}: ${name}: ${(error as Error).message}; ` +
      `check backups.offsite.s3 (bucket, region, endpoint) and the credentials in ${settings.accessKeyIdEnv} and ${settings.secretAccessKeyEnv}`,
  );
}
