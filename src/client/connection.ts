import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { loadClientConfigProfile, type ClientConfigProfile } from '@temporalio/envconfig';
import {
  DEFAULT_NAMESPACE,
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_UI_URL,
  ORCHESTRATION_TASK_QUEUE,
} from '../common/constants';
import { dataConverterFromEnv } from './codec';
import { diagnoseConnection, loadTls, probeConnection } from './connection-check';
import { UsageError, type UnreachableError } from './errors';

/**
 * Where the CLI, the client library and every worker find Temporal. The connection itself (address, namespace,
 * TLS with a server CA and name, an mTLS client certificate and key, an API key, gRPC headers) is read by the
 * SDK's envconfig: a profile of the standard config file (TEMPORAL_CONFIG_FILE, else
 * ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else `default`) overridden by TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_TLS*, TEMPORAL_API_KEY and TEMPORAL_GRPC_META_* variables.
 */
export interface TemporalSettings {
  address: string;
  namespace: string;
  uiUrl: string;
  taskQueue: string;
  /** TLS, API key and gRPC headers of the profile; absent: plain TCP, as the dev server serves. */
  profile?: Pick<ClientConfigProfile, 'tls' | 'apiKey' | 'grpcMeta'>;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  // An empty variable (`TEMPORAL_ADDRESS=` in an env file) is unset, so the profile's value holds.
  const vars = Object.fromEntries(
    Object.entries(env).filter(
      (e): e is [string, string] => e[1] !== undefined && (e[1] !== '' || e[0].startsWith('TEMPORAL_GRPC_META_')),
    ),
  );
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars, configFileStrict: true });
  } catch (error) {
    const file = vars.TEMPORAL_CONFIG_FILE ?? '~/.config/temporalio/temporal.toml';
    throw new UsageError(
      `Temporal connection profile '${vars.TEMPORAL_PROFILE ?? 'default'}' in ${file}: ${errorLine(error)}`,
      'fix the file, or point TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE at a valid profile',
    );
  }
  return {
    address: profile.address ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: profile.namespace ?? DEFAULT_NAMESPACE,
    uiUrl: env.TEMPORAL_UI_URL ?? DEFAULT_UI_URL,
    taskQueue: env.RUNBOOK_TASK_QUEUE ?? ORCHESTRATION_TASK_QUEUE,
    ...(profile.tls || profile.apiKey || profile.grpcMeta
      ? { profile: { tls: profile.tls, apiKey: profile.apiKey, grpcMeta: profile.grpcMeta } }
      : {}),
  };
}

/**
 * What Connection.connect and NativeConnection.connect take. The TLS files are read and checked here (a
 * certificate that does not parse, a key that is not the certificate's) and fail with the file named.
 */
export function connectionOptions(settings: TemporalSettings): ConnectionSettings {
  const profile = settings.profile ?? {};
  // An API key goes with TLS unless the profile says otherwise, as Temporal Cloud expects.
  const tls = loadTls(settings.address, profile.tls) ?? (profile.apiKey !== undefined ? true : undefined);
  return {
    address: settings.address,
    ...(tls !== undefined ? { tls } : {}),
    ...(profile.apiKey !== undefined ? { apiKey: profile.apiKey } : {}),
    ...(profile.grpcMeta ? { metadata: profile.grpcMeta } : {}),
  };
}

/** The part of the options Connection (client) and NativeConnection (worker) share. */
export type ConnectionSettings = Pick<ConnectionOptions, 'address' | 'tls' | 'metadata'> & { apiKey?: string };

export interface Connected {
  client: Client;
  settings: TemporalSettings;
  close(): Promise<void>;
}

/**
 * Connects and checks the namespace, or fails with UnreachableError (exit 3) naming what failed (the server's
 * certificate, its name, the client certificate or key, the API key, the namespace, or the address itself)
 * and the address tried. With payload keys in the environment (codec.ts) the client encrypts what it sends and
 * decrypts what it reads.
 */
export async function connect(settings: TemporalSettings = settingsFromEnv(), timeoutMs = 5_000): Promise<Connected> {
  const dataConverter = dataConverterFromEnv();
  const options = connectionOptions(settings);
  // The transport is probed alongside: a wrong certificate, name or port fails at once and named, instead of
  // after the client's whole connect timeout with "Failed to connect before the deadline".
  const probed = probeConnection(settings);
  const connecting = openConnection(options, settings.namespace, timeoutMs);
  type Outcome = { connection: Connection } | { error: unknown } | { problem: UnreachableError };
  const settled: Promise<Outcome> = connecting.then(
    (connection) => ({ connection }),
    (error: unknown) => ({ error }),
  );
  const first = await Promise.race([
    settled,
    probed.then((problem): Promise<Outcome> | Outcome => (problem ? { problem } : settled)),
  ]);
  if ('problem' in first) {
    void connecting.then(
      (connection) => connection.close(),
      () => undefined,
    );
    throw first.problem;
  }
  if ('error' in first) throw diagnoseConnection(settings, first.error, await probed);
  const { connection } = first;
  return {
    client: new Client({ connection, namespace: settings.namespace, ...(dataConverter ? { dataConverter } : {}) }),
    settings,
    close: () => connection.close(),
  };
}

async function openConnection(options: ConnectionSettings, namespace: string, timeoutMs: number): Promise<Connection> {
  // Connection.connect has already asked getSystemInfo; the namespace is the one thing left to check.
  const connection = await Connection.connect({ ...options, connectTimeout: timeoutMs });
  try {
    await connection.withDeadline(Date.now() + timeoutMs, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
    return connection;
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/** Fails fast (exit 3) when the server, its TLS, the credentials or the namespace are wrong. */
export async function checkConnection(settings: TemporalSettings, timeoutMs = 5_000): Promise<void> {
  await (await connect(settings, timeoutMs)).close();
}

function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
