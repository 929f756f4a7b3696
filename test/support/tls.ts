import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export interface KeyPair {
  cert: string;
  key: string;
}

/** Certificates for TLS tests, as files: a CA, a server and a client it signed, and a rogue CA's client. */
export interface Pki {
  dir: string;
  ca: string;
  otherCa: string;
  server: KeyPair;
  client: KeyPair;
  rogueClient: KeyPair;
}

export const SERVER_NAME = 'temporal.runbook.test';

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

function newKey(cwd: string, name: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], cwd);
  return path.join(cwd, `${name}.key`);
}

function newCa(cwd: string, name: string): void {
  newKey(cwd, name);
  openssl(
    ['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`],
    cwd,
  );
}

function signed(cwd: string, name: string, ca: string, altNames: string): KeyPair {
  const key = newKey(cwd, name);
  openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], cwd);
  writeFileSync(
    path.join(cwd, `${name}.ext`),
    `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ],
    cwd,
  );
  return { cert: path.join(cwd, `${name}.pem`), key };
}

/** A fresh PKI in a temporary folder (openssl, EC P-256, valid two days). The server is `temporal.runbook.test`. */
export function createPki(dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-pki-'))): Pki {
  newCa(dir, 'ca');
  newCa(dir, 'other-ca');
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    otherCa: path.join(dir, 'other-ca.pem'),
    server: signed(dir, 'server', 'ca', `DNS:${SERVER_NAME},IP:127.0.0.1`),
    client: signed(dir, 'client', 'ca', 'DNS:runbook-worker'),
    rogueClient: signed(dir, 'rogue-client', 'other-ca', 'DNS:runbook-worker'),
  };
}

export interface TlsFront {
  address: string;
  close(): Promise<void>;
}

/**
 * A TLS endpoint in front of a plain Temporal frontend, as a load balancer terminates TLS for a cluster: it
 * speaks TLS (and, with `requireClientCert`, mTLS against the PKI's CA) and passes the decrypted HTTP/2 on.
 */
export async function startTlsFront(target: string, pki: Pki, requireClientCert: boolean): Promise<TlsFront> {
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(':')), Number(target.split(':').pop())];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: readFileSync(pki.server.key),
      cert: readFileSync(pki.server.cert),
      ca: readFileSync(pki.ca),
      requestCert: requireClientCert,
      rejectUnauthorized: requireClientCert,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const upstream = net.connect(targetPort, targetHost);
      for (const s of [socket, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      }
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The environment variables the CLI and workers read for TLS, as an operator sets them. */
export function tlsEnv(pki: Pki, options: { clientCert?: KeyPair; ca?: string; serverName?: string } = {}) {
  return {
    TEMPORAL_TLS: 'true',
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: options.ca ?? pki.ca,
    ...(options.serverName ? { TEMPORAL_TLS_SERVER_NAME: options.serverName } : {}),
    ...(options.clientCert
      ? { TEMPORAL_TLS_CLIENT_CERT_PATH: options.clientCert.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: options.clientCert.key }
      : {}),
  };
}
