import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../../src/devserver/dev-server';
import { startCluster } from './cluster';
import { startPostgres, stopPostgres, type PostgresInstance } from './postgres';
import { startRedis, stopRedis, type RedisInstance } from './redis';
import { startSeedServices, stopSeedServices, type SeedServices } from './seed-services';

export interface TestServices {
  temporal: { stop(): Promise<void> };
  postgres: PostgresInstance;
  redis: RedisInstance;
  /** Runbook's private state folder for this run (RUNBOOK_STATE_DIR), shared by every worker it starts. */
  stateDir: string;
  /** Only for the seed suite: a Docker engine and a systemd machine. */
  seeds?: SeedServices;
}

declare global {
  var __RUNBOOK_TEST_SERVICES__: TestServices | undefined;
}

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * One set of real services per test run, on free ports: the Temporal dev server (with the project's search
 * attributes and Web UI), a PostgreSQL cluster and a redis-server, and for the seed suite a Docker engine and a
 * systemd machine. Test files find them through env vars.
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env.RUNBOOK_TEST_SKIP_BUILD) {
    // Worker processes and CLI tests run the compiled code; build it so they match the sources under test.
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'runbook-state-'));
  try {
    globalThis.__RUNBOOK_TEST_SERVICES__ = await startServices(stateDir);
  } catch (error) {
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  const { postgres, redis } = globalThis.__RUNBOOK_TEST_SERVICES__;
  Object.assign(process.env, {
    RUNBOOK_TEST_PG_URL: postgres.url,
    RUNBOOK_TEST_PG_BIN: postgres.binDir,
    RUNBOOK_TEST_REDIS_URL: redis.url,
    RUNBOOK_STATE_DIR: stateDir,
    RUNBOOK_WORKFLOW_BUNDLE: path.join(ROOT, 'dist', 'workflow-bundle.js'),
  });
}

async function startServices(stateDir: string): Promise<TestServices> {
  if (process.env.RUNBOOK_TEST_SUITE === 'cluster') {
    // The cluster suite runs against a Temporal cluster as production runs it (PostgreSQL, mTLS): every
    // client and worker of the tests finds it through the same TEMPORAL_* variables an operator sets.
    const [cluster, postgres, redis] = await startTogether(
      starting(startCluster(), (c) => c.stop()),
      starting(startPostgres(), stopPostgres),
      starting(startRedis(), stopRedis),
    );
    Object.assign(process.env, cluster.clientEnv, {
      RUNBOOK_TEST_CLUSTER_LOG: cluster.logFile,
      RUNBOOK_TEST_CLUSTER_PG_URL: cluster.postgres.url,
    });
    return { temporal: cluster, postgres, redis, stateDir };
  }
  const seedSuite = process.env.RUNBOOK_TEST_SUITE === 'seeds';
  const [temporal, postgres, redis, seeds] = await startTogether(
    starting(startDevServer(), (t) => t.stop()),
    starting(startPostgres(), stopPostgres),
    starting(startRedis(), stopRedis),
    starting(seedSuite ? startSeedServices() : Promise.resolve(undefined), (s) =>
      s ? stopSeedServices(s) : Promise.resolve(),
    ),
  );
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_UI_URL: temporal.uiUrl,
  });
  return { temporal, postgres, redis, stateDir, seeds };
}

interface Starting<T> {
  started: Promise<T>;
  stop(service: T): Promise<unknown>;
}

function starting<T>(started: Promise<T>, stop: (service: T) => Promise<unknown>): Starting<T> {
  return { started, stop };
}

/**
 * Starts services side by side. When one fails, the others are stopped once their own start has ended and the
 * failure is thrown: a failed setup leaves no server running on the machine (Jest runs no teardown then).
 */
async function startTogether<T extends unknown[]>(...services: { [K in keyof T]: Starting<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(services.map((service) => service.started));
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (!failed) return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as T;
  await Promise.allSettled(
    results.map((result, i) => (result.status === 'fulfilled' ? services[i].stop(result.value) : undefined)),
  );
  throw failed.reason;
}
