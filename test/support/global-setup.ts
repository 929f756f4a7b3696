import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../../src/devserver/dev-server';
import { startCluster } from './cluster';
import { startPostgres, type PostgresInstance } from './postgres';
import { startRedis, type RedisInstance } from './redis';
import { startSeedServices, type SeedServices } from './seed-services';

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
  if (process.env.RUNBOOK_TEST_SUITE === 'cluster') {
    // The cluster suite runs against a Temporal cluster as production runs it (PostgreSQL, mTLS): every
    // client and worker of the tests finds it through the same TEMPORAL_* variables an operator sets.
    const [cluster, postgres, redis] = await Promise.all([startCluster(), startPostgres(), startRedis()]);
    globalThis.__RUNBOOK_TEST_SERVICES__ = { temporal: cluster, postgres, redis, stateDir };
    Object.assign(process.env, cluster.clientEnv, {
      RUNBOOK_TEST_CLUSTER_LOG: cluster.logFile,
      RUNBOOK_TEST_CLUSTER_PG_URL: cluster.postgres.url,
    });
  } else {
    const [temporal, postgres, redis] = await Promise.all([startDevServer(), startPostgres(), startRedis()]);
    const seeds = process.env.RUNBOOK_TEST_SUITE === 'seeds' ? await startSeedServices() : undefined;
    globalThis.__RUNBOOK_TEST_SERVICES__ = { temporal, postgres, redis, stateDir, seeds };
    Object.assign(process.env, {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_UI_URL: temporal.uiUrl,
    });
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
