/**
 * Turns a failed connection into one line that names what failed. The gRPC client only says "Failed to connect
 * before the deadline" whatever went wrong, so after a failure the address is probed step by step with plain
 * sockets: TCP, then the TLS handshake with the same CA, name and client certificate, then an HTTP/2 preface
 * (a server that refuses the client certificate says so only after the handshake, in TLS 1.3).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { ClientConfigTLS, ConfigDataSource } from '@temporalio/envconfig';
import type { TemporalSettings } from './connection';
import { UnreachableError, type ConnectionProblem } from './errors';

const PROBE_TIMEOUT_MS = 3_000;
const HTTP2_PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), // an empty SETTINGS frame
]);
const HINTS: Record<ConnectionProblem, string> = {
  unreachable: 'start a dev server with `runbook dev` (or `temporal server start-dev`), or set TEMPORAL_ADDRESS',
  'tls-expected':
    'the server serves TLS: set TEMPORAL_TLS=true and TEMPORAL_TLS_SERVER_CA_CERT_PATH (or the profile’s [tls])',
  'not-tls': 'the server does not serve TLS here: unset TEMPORAL_TLS* (or set TEMPORAL_TLS=false), or fix the port',
  'server-certificate':
    'set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed the server’s certificate (PEM), or renew it',
  'server-name':
    'connect by a name the certificate lists, or set TEMPORAL_TLS_SERVER_NAME to one of them (the profile’s tls.server_name)',
  'client-certificate':
    'set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH to a certificate signed by the CA the server trusts for clients',
  'client-key': 'TEMPORAL_TLS_CLIENT_KEY_PATH must be the private key (PEM) of TEMPORAL_TLS_CLIENT_CERT_PATH',
  credentials:
    'check TEMPORAL_API_KEY (or the profile’s api_key): missing, expired, or without access to the namespace',
  namespace: 'create it (temporal operator namespace create -n NAME), or set TEMPORAL_NAMESPACE to one that exists',
};

function fail(address: string, problem: ConnectionProblem, cause: string): UnreachableError {
  return new UnreachableError(address, cause, problem, HINTS[problem]);
}

/**
 * The TLS settings of a profile as the SDK takes them, each file read and checked first: a CA or certificate
 * that is not PEM, a client certificate without its key, a key that is not the certificate's, an expired
 * client certificate.
 */
export function loadTls(address: string, config: ClientConfigTLS | undefined): TLSConfig | false | undefined {
  if (config === undefined) return undefined;
  if (config.disabled) return false;
  const ca = config.serverCACert && readSource(address, config.serverCACert, 'server CA certificate');
  if (ca) parseCertificate(address, ca, 'server-certificate');
  const hasCert = config.clientCert !== undefined;
  const hasKey = config.clientKey !== undefined;
  if (hasCert !== hasKey)
    throw fail(
      address,
      hasCert ? 'client-key' : 'client-certificate',
      hasCert
        ? 'a client certificate is set but no client key (TEMPORAL_TLS_CLIENT_KEY_PATH)'
        : 'a client key is set but no client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH)',
    );
  let clientCertPair: { crt: Buffer; key: Buffer } | undefined;
  if (config.clientCert && config.clientKey) {
    const crt = readSource(address, config.clientCert, 'client certificate');
    const key = readSource(address, config.clientKey, 'client key');
    const certificate = parseCertificate(address, crt, 'client-certificate');
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw fail(address, 'client-key', `the client key ${describe(config.clientKey)} is not a PEM private key`);
    }
    if (!certificate.certificate.checkPrivateKey(privateKey))
      throw fail(
        address,
        'client-key',
        `the client key ${describe(config.clientKey)} is not the key of the client certificate ${describe(config.clientCert)}`,
      );
    if (Date.parse(certificate.certificate.validTo) < Date.now())
      throw fail(
        address,
        'client-certificate',
        `the client certificate ${describe(config.clientCert)} expired on ${certificate.certificate.validTo}`,
      );
    clientCertPair = { crt, key };
  }
  return {
    ...(config.serverName ? { serverNameOverride: config.serverName } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(clientCertPair ? { clientCertPair } : {}),
  };
}

function readSource(address: string, source: ConfigDataSource, what: string): Buffer {
  if ('data' in source) return Buffer.from(source.data);
  try {
    return readFileSync(source.path);
  } catch (error) {
    const problem =
      what === 'client key'
        ? 'client-key'
        : what === 'client certificate'
          ? 'client-certificate'
          : 'server-certificate';
    throw fail(address, problem, `cannot read the ${what} ${source.path} (${(error as NodeJS.ErrnoException).code})`);
  }
}

function parseCertificate(
  address: string,
  pem: Buffer,
  problem: 'server-certificate' | 'client-certificate',
): { certificate: X509Certificate } {
  try {
    return { certificate: new X509Certificate(pem) };
  } catch {
    throw fail(
      address,
      problem,
      `the ${problem === 'server-certificate' ? 'server CA certificate' : 'client certificate'} is not a PEM certificate`,
    );
  }
}

function describe(source: ConfigDataSource): string {
  return 'path' in source ? source.path : '(inline data)';
}

/**
 * Probes the transport the settings describe (TCP, TLS with their CA, name and client certificate, HTTP/2):
 * the problem found, or undefined when the transport works. Never rejects.
 */
export async function probeConnection(settings: TemporalSettings): Promise<UnreachableError | undefined> {
  const { address, profile } = settings;
  try {
    const tlsConfig = loadTls(address, profile?.tls) ?? (profile?.apiKey !== undefined ? {} : false);
    return await probe(address, tlsConfig);
  } catch (error) {
    return error instanceof UnreachableError ? error : undefined;
  }
}

/** Why connecting failed, as an UnreachableError naming the problem and the address tried. */
export function diagnoseConnection(
  settings: TemporalSettings,
  error: unknown,
  probed: UnreachableError | undefined,
): UnreachableError {
  if (error instanceof UnreachableError) return error;
  const { address } = settings;
  const status = grpcStatus(error);
  if (status === GRPC.unauthenticated || status === GRPC.permissionDenied)
    return fail(address, 'credentials', `the server refused the credentials: ${errorLine(error)}`);
  if (status === GRPC.notFound)
    return fail(address, 'namespace', `namespace '${settings.namespace}' does not exist: ${errorLine(error)}`);
  return probed ?? fail(address, 'unreachable', errorLine(error));
}

const GRPC = { notFound: 5, permissionDenied: 7, unauthenticated: 16 } as const;

function grpcStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].replace(/^\d+ [A-Z_]+: /, '');
}

function hostAndPort(address: string): { host: string; port: number } {
  const url = new URL(`http://${address}`);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 7233) };
}

/** Walks TCP → TLS → HTTP/2 and says where it broke; undefined when the transport works. */
async function probe(address: string, tlsConfig: TLSConfig | false): Promise<UnreachableError | undefined> {
  const { host, port } = hostAndPort(address);
  const outcome = await new Promise<ProbeOutcome>((resolve) => {
    const done = (result: ProbeOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const serverName = tlsConfig ? (tlsConfig.serverNameOverride ?? host) : host;
    let stage: ProbeOutcome['stage'] = 'tcp';
    const socket: net.Socket = tlsConfig
      ? tls.connect({
          host,
          port,
          ...(net.isIP(serverName) ? {} : { servername: serverName }),
          ALPNProtocols: ['h2'],
          ...(tlsConfig.serverRootCACertificate ? { ca: Buffer.from(tlsConfig.serverRootCACertificate) } : {}),
          ...(tlsConfig.clientCertPair
            ? { cert: Buffer.from(tlsConfig.clientCertPair.crt), key: Buffer.from(tlsConfig.clientCertPair.key) }
            : {}),
          checkServerIdentity: (_host, certificate) => tls.checkServerIdentity(serverName, certificate),
        })
      : net.connect({ host, port });
    const timer = setTimeout(() => done({ stage, timedOut: true }), PROBE_TIMEOUT_MS);
    socket.once('connect', () => {
      stage = tlsConfig ? 'tls' : 'http2';
      if (!tlsConfig) socket.write(HTTP2_PREFACE);
    });
    socket.once('secureConnect', () => {
      stage = 'http2';
      socket.write(HTTP2_PREFACE);
    });
    socket.once('data', (data: Buffer) => done({ stage, data }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ stage, error }));
    socket.once('close', () => done({ stage, closed: true }));
  });
  return classify(address, Boolean(tlsConfig), outcome, tlsConfig ? tlsConfig.serverNameOverride : undefined);
}

interface ProbeOutcome {
  stage: 'tcp' | 'tls' | 'http2';
  data?: Buffer;
  error?: NodeJS.ErrnoException & { reason?: string };
  closed?: boolean;
  timedOut?: boolean;
}

/** Pure: the probe's outcome as a problem (unit-tested against the codes Node reports). */
export function classify(
  address: string,
  usedTls: boolean,
  outcome: ProbeOutcome,
  serverName?: string,
): UnreachableError | undefined {
  const { stage, error } = outcome;
  const code = error?.code ?? '';
  const text = `${code} ${error?.message ?? ''}`;
  if (stage === 'tcp') {
    if (outcome.timedOut) return fail(address, 'unreachable', `no answer within ${PROBE_TIMEOUT_MS / 1000} s`);
    if (code === 'ECONNREFUSED') return fail(address, 'unreachable', 'connection refused (nothing listens there)');
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return fail(address, 'unreachable', `no such host ${hostAndPort(address).host}`);
    if (error) return fail(address, 'unreachable', error.message);
  }
  if (stage === 'tls') {
    if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|ECONNRESET|socket disconnected/i.test(text) || outcome.closed)
      return fail(address, 'not-tls', 'the server ended the TLS handshake: it does not serve TLS on this port');
    if (outcome.timedOut)
      return fail(address, 'not-tls', 'the TLS handshake got no answer: the server does not serve TLS on this port');
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
      return fail(
        address,
        'server-name',
        `the server's certificate is not valid for the name ${serverName ?? hostAndPort(address).host} (${error?.reason ?? error?.message})`,
      );
    if (code === 'CERT_HAS_EXPIRED') return fail(address, 'server-certificate', "the server's certificate has expired");
    if (
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED/.test(
        code,
      )
    )
      return fail(
        address,
        'server-certificate',
        `the server's certificate is not signed by a trusted CA (${code}): not the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH`,
      );
  }
  if (/CERTIFICATE_REQUIRED|certificate required/i.test(text))
    return fail(address, 'client-certificate', 'the server requires a client certificate (mTLS) and none was sent');
  if (/ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE|ALERT_CERTIFICATE_UNKNOWN|unknown ca|bad certificate/i.test(text))
    return fail(
      address,
      'client-certificate',
      'the server refused the client certificate (not signed by a CA it trusts)',
    );
  if (stage === 'tls' && error) return fail(address, 'server-certificate', `TLS handshake failed: ${error.message}`);
  if (stage === 'http2') {
    if (
      !usedTls &&
      (outcome.data?.[0] === 0x15 || outcome.data?.[0] === 0x16 || outcome.closed || code === 'ECONNRESET')
    )
      return fail(address, 'tls-expected', 'the server closed a plain connection: it expects TLS');
    if (usedTls && (outcome.closed || code === 'ECONNRESET'))
      return fail(
        address,
        'client-certificate',
        'the server refused the client certificate: it closed the connection after the TLS handshake',
      );
  }
  return undefined;
}
