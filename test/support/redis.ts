import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../../src/devserver/ports';
import { stopChild, waitFor } from './postgres';

export interface RedisInstance {
  url: string;
  port: number;
  process: ChildProcess;
}

/** A throwaway redis-server on a free port with no persistence. */
export async function startRedis(): Promise<RedisInstance> {
  const port = await freePort();
  const child = spawn(
    process.env.REDIS_SERVER ?? 'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let failure: Error | undefined;
  child.on(
    'error',
    (error) => (failure = new Error(`redis-server could not start (${error.message}); run \`make setup\``)),
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (failure) throw failure;
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined); // not up yet: connect() rejects and waitFor tries again
    try {
      await client.connect();
      await client.ping();
    } finally {
      client.disconnect();
    }
  }, 15_000);
  return { url, port, process: child };
}

export function stopRedis(instance: RedisInstance): Promise<void> {
  return stopChild(instance.process, 'SIGTERM');
}
