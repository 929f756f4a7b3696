import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/common/search-attributes';
import { resolveTemporalCli } from '../../src/devserver/temporal-cli';
import { sql, startPostgres, stopChild, stopPostgres, type PostgresInstance } from './postgres';
import { createPki, SERVER_NAME, tlsEnv, type Pki } from './tls';

const ROOT = path.resolve(__dirname, '..', '..');
export const SETUP_DIR = path.join(ROOT, 'deploy', 'temporal');
/** The setup steps docker-compose.temporal.yml runs in its admin-tools containers, run here as they are. */
export const SETUP_SCRIPTS = { schema: 'setup-schema.sh', namespace: 'setup-namespace.sh' } as const;

/** The database login Temporal uses, as in docker-compose.temporal.yml. */
export const TEMPORAL_DB_USER = 'temporal';
const TEMPORAL_DB_PASSWORD = 'temporal';

export interface Cluster {
  address: string;
  namespace: string;
  pki: Pki;
  /** What a client or worker sets to reach it: address, namespace, mTLS (CA, server name, client certificate). */
  clientEnv: Record<string, string>;
  postgres: PostgresInstance;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * The environment of the `temporal` service in docker-compose.temporal.yml, read by the server's embedded
 * config template as in the temporalio/server image. The compose test checks that compose sets the same
 * variables, so the cluster suite proves the compose configuration on the binaries.
 */
export function serverEnvironment(options: {
  postgres: { host: string; port: number };
  pki: Pki;
  ports: Ports;
}): Record<string, string> {
  const { pki } = options;
  return {
    DB: 'postgres12',
    DB_PORT: String(options.postgres.port),
    POSTGRES_USER: TEMPORAL_DB_USER,
    POSTGRES_PWD: TEMPORAL_DB_PASSWORD,
    POSTGRES_SEEDS: options.postgres.host,
    BIND_ON_IP: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: path.join(SETUP_DIR, 'dynamicconfig.yaml'),
    // TLS between the server's own services and on the frontend; clients must present a certificate (mTLS).
    TEMPORAL_TLS_SERVER_CA_CERT: pki.ca,
    TEMPORAL_TLS_SERVER_CERT: pki.server.cert,
    TEMPORAL_TLS_SERVER_KEY: pki.server.key,
    TEMPORAL_TLS_INTERNODE_SERVER_NAME: SERVER_NAME,
    TEMPORAL_TLS_FRONTEND_CERT: pki.server.cert,
    TEMPORAL_TLS_FRONTEND_KEY: pki.server.key,
    TEMPORAL_TLS_FRONTEND_SERVER_NAME: SERVER_NAME,
    TEMPORAL_TLS_CLIENT1_CA_CERT: pki.ca,
    TEMPORAL_TLS_CLIENT2_CA_CERT: pki.ca,
    TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: 'true',
    ...Object.fromEntries(Object.entries(options.ports).map(([name, port]) => [name, String(port)])),
  };
}

/** Ports the template reads; compose keeps their defaults, the test takes free ones. */
export const PORT_VARIABLES = [
  'FRONTEND_GRPC_PORT',
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
] as const;

type Ports = Record<(typeof PORT_VARIABLES)[number], number>;

/** Temporal keeps membership ports in a smallint column: a free port below 32768, not an ephemeral one. */
async function lowFreePort(taken: number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

function run(argv: string[], env: Record<string, string>, log: NodeJS.WritableStream, timeoutMs: number) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr])
      stream?.on('data', (d: Buffer) => {
        output += d.toString();
        log.write(d);
      });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(' ')} exited with ${code}:\n${output.slice(-3000)}`));
    });
  });
}

/**
 * A Temporal cluster as production runs it: the server built from its Go module (scripts/build-temporal-
 * server.sh, folder in RUNBOOK_TEMPORAL_SERVER_DIR) on a throwaway PostgreSQL, behind TLS with client
 * certificates required, its schema, namespace and search attributes made by deploy/temporal's setup scripts —
 * the ones docker-compose.temporal.yml runs.
 */
export async function startCluster(namespace = 'default'): Promise<Cluster> {
  const serverDir = process.env.RUNBOOK_TEMPORAL_SERVER_DIR;
  if (!serverDir)
    throw new Error('RUNBOOK_TEMPORAL_SERVER_DIR is not set: run the cluster suite with `make test-cluster`');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-cluster-'));
  const logFile = path.join(dir, 'temporal.log');
  const log = createWriteStream(logFile);
  mkdirSync(path.join(dir, 'pki'));
  const pki = createPki(path.join(dir, 'pki'));
  const postgres = await startPostgres();
  let server: ChildProcess | undefined;
  const stop = async () => {
    if (server) await stopChild(server, 'SIGTERM', 20_000);
    await stopPostgres(postgres);
    log.end();
  };
  try {
    await sql(postgres.url, `CREATE ROLE ${TEMPORAL_DB_USER} LOGIN CREATEDB PASSWORD '${TEMPORAL_DB_PASSWORD}'`);
    const base = { PATH: `${serverDir}${path.delimiter}${process.env.PATH}`, HOME: os.homedir() };
    const db = { POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(postgres.port), POSTGRES_USER: TEMPORAL_DB_USER };
    await run(
      ['sh', path.join(SETUP_DIR, SETUP_SCRIPTS.schema)],
      { ...base, ...db, SQL_PASSWORD: TEMPORAL_DB_PASSWORD, TEMPORAL_SCHEMA_DIR: path.join(serverDir, 'schema') },
      log,
      120_000,
    );
    const ports: Record<string, number> = {};
    for (const name of PORT_VARIABLES) ports[name] = await lowFreePort(Object.values(ports));
    const env = serverEnvironment({ postgres: { host: '127.0.0.1', port: postgres.port }, pki, ports: ports as Ports });
    server = spawn(path.join(serverDir, 'temporal-server'), ['start'], {
      env: { ...base, ...env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.pipe(log, { end: false });
    server.stderr?.pipe(log, { end: false });
    const address = `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`;
    const clientEnv = {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      ...tlsEnv(pki, { clientCert: pki.client, serverName: SERVER_NAME }),
    };
    const cli = resolveTemporalCli();
    if (cli.kind !== 'path') throw new Error('the Temporal CLI is not installed: run `make setup`');
    const exited = new Promise<never>((_, reject) =>
      server?.once('exit', (code) => reject(new Error(`temporal-server exited with ${code} during setup`))),
    );
    const setup = run(
      ['sh', path.join(SETUP_DIR, SETUP_SCRIPTS.namespace)],
      {
        ...base,
        PATH: `${path.dirname(cli.path)}${path.delimiter}${base.PATH}`,
        ...clientEnv,
        RUNBOOK_SEARCH_ATTRIBUTES: RUNBOOK_SEARCH_ATTRIBUTES.map((key) => key.name).join(' '),
      },
      log,
      240_000,
    );
    await Promise.race([setup, exited]);
    return { address, namespace, pki, clientEnv, postgres, logFile, stop };
  } catch (error) {
    await stop();
    throw new Error(
      `${(error as Error).message}\nserver log ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-4000)}`,
      { cause: error },
    );
  }
}
