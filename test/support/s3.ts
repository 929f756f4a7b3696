import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { freePort } from '../../src/devserver/ports';
import { stopChild, waitFor } from './postgres';

const MOTO = path.resolve(__dirname, '..', '..', '.tools', 'moto', 'bin', 'moto_server');

/** Credentials the test server accepts (any); the manifests name these variables. */
export const S3_ENV = { TEST_S3_ACCESS_KEY: 'runbook-test-key', TEST_S3_SECRET_KEY: 'runbook-test-secret' };

export interface TestS3Server {
  endpoint: string;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Keys in a bucket, sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  read(bucket: string, key: string): Promise<Buffer>;
  write(bucket: string, key: string, body: Buffer | string): Promise<void>;
  close(): Promise<void>;
}

/** A real S3-protocol server (moto's, installed by scripts/setup.sh into .tools/moto) on a free port. */
export async function startS3Server(): Promise<TestS3Server> {
  const binary = process.env.RUNBOOK_MOTO_SERVER ?? MOTO;
  if (!existsSync(binary)) throw new Error(`${binary} not found: run \`make setup\` (it installs moto[server])`);
  const port = await freePort();
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}:\n${output}`);
    const response = await fetch(`${endpoint}/moto-api/`);
    if (!response.ok) throw new Error(`moto_server answered ${response.status}`);
  }, 30_000);
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ENV.TEST_S3_ACCESS_KEY, secretAccessKey: S3_ENV.TEST_S3_SECRET_KEY },
  });
  return {
    endpoint,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async keys(bucket, prefix) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (listed.Contents ?? []).map((o) => o.Key as string).sort();
    },
    async read(bucket, key) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    },
    async write(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async close() {
      client.destroy();
      await stopChild(child, 'SIGTERM', 10_000);
    },
  };
}
