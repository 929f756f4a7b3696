import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/devserver/ports';
import { runCli, WORKER_MAIN } from '../support/cli';
import { createPki, SERVER_NAME, startTlsFront, tlsEnv, type Pki, type TlsFront } from '../support/tls';
import { startWorkerProcess } from '../support/worker-process';
import { temporalAddress, uniqueName } from '../support/temporal';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');
const STACK_LINE = /\n\s+at .+:\d+:\d+/;

/**
 * One connection configuration for the CLI and the workers (the SDK's envconfig: TEMPORAL_* variables and
 * profiles). The dev server serves plain TCP, so TLS and mTLS endpoints terminate in front of it; the cluster
 * suite runs the same against the Temporal server's own TLS.
 */
describe('connecting to Temporal over TLS, mTLS and profiles', () => {
  let pki: Pki;
  let tlsFront: TlsFront;
  let mtlsFront: TlsFront;
  const history = ['history', '--json', '--limit', '1'];

  beforeAll(async () => {
    pki = createPki();
    tlsFront = await startTlsFront(temporalAddress(), pki, false);
    mtlsFront = await startTlsFront(temporalAddress(), pki, true);
  });
  afterAll(async () => {
    await tlsFront?.close();
    await mtlsFront?.close();
  });

  it('reaches the server over TLS with the CA and server name from the environment', async () => {
    const result = await runCli(history, {
      env: { TEMPORAL_ADDRESS: tlsFront.address, ...tlsEnv(pki, { serverName: SERVER_NAME }) },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(Array.isArray(JSON.parse(result.stdout))).toBe(true);
  });

  it('reaches the server over mTLS with a profile of the config file', async () => {
    const file = path.join(pki.dir, 'temporal.toml');
    writeFileSync(
      file,
      [
        '[profile.production]',
        `address = "${mtlsFront.address}"`,
        `namespace = "${process.env.TEMPORAL_NAMESPACE ?? 'default'}"`,
        '[profile.production.tls]',
        `server_ca_cert_path = "${pki.ca}"`,
        `server_name = "${SERVER_NAME}"`,
        `client_cert_path = "${pki.client.cert}"`,
        `client_key_path = "${pki.client.key}"`,
      ].join('\n'),
    );
    const result = await runCli(history, {
      env: { TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'production' },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  const failures: Array<[string, () => Record<string, string>, RegExp, RegExp]> = [
    [
      'a server certificate from another CA',
      () => ({ TEMPORAL_ADDRESS: tlsFront.address, ...tlsEnv(pki, { ca: pki.otherCa }) }),
      /the server's certificate is not signed by a trusted CA/,
      /hint: set TEMPORAL_TLS_SERVER_CA_CERT_PATH/,
    ],
    [
      'a server name the certificate does not list',
      () => ({ TEMPORAL_ADDRESS: tlsFront.address, ...tlsEnv(pki, { serverName: 'temporal.example.org' }) }),
      /the server's certificate is not valid for the name temporal\.example\.org/,
      /hint: .*TEMPORAL_TLS_SERVER_NAME/,
    ],
    [
      'no client certificate for an mTLS server',
      () => ({ TEMPORAL_ADDRESS: mtlsFront.address, ...tlsEnv(pki) }),
      /the server requires a client certificate \(mTLS\) and none was sent/,
      /hint: set TEMPORAL_TLS_CLIENT_CERT_PATH/,
    ],
    [
      'a client certificate the server does not trust',
      () => ({ TEMPORAL_ADDRESS: mtlsFront.address, ...tlsEnv(pki, { clientCert: pki.rogueClient }) }),
      /the server refused the client certificate/,
      /hint: set TEMPORAL_TLS_CLIENT_CERT_PATH/,
    ],
    [
      'a client key that is not the certificate’s',
      () => ({
        TEMPORAL_ADDRESS: mtlsFront.address,
        ...tlsEnv(pki, { clientCert: { cert: pki.client.cert, key: pki.rogueClient.key } }),
      }),
      /the client key .*rogue-client\.key is not the key of the client certificate .*client\.pem/,
      /hint: TEMPORAL_TLS_CLIENT_KEY_PATH must be the private key/,
    ],
    [
      'a client certificate file that does not exist',
      () => ({
        TEMPORAL_ADDRESS: mtlsFront.address,
        ...tlsEnv(pki, { clientCert: { cert: '/nonexistent/client.pem', key: pki.client.key } }),
      }),
      /cannot read the client certificate \/nonexistent\/client\.pem \(ENOENT\)/,
      /hint: set TEMPORAL_TLS_CLIENT_CERT_PATH/,
    ],
    [
      'plain TCP to a TLS endpoint',
      () => ({ TEMPORAL_ADDRESS: tlsFront.address }),
      /the server closed a plain connection: it expects TLS/,
      /hint: the server serves TLS: set TEMPORAL_TLS=true/,
    ],
    [
      'TLS to a plain endpoint',
      () => ({ TEMPORAL_ADDRESS: temporalAddress(), ...tlsEnv(pki) }),
      /it does not serve TLS on this port/,
      /hint: the server does not serve TLS here/,
    ],
    [
      'a namespace that does not exist',
      () => ({ TEMPORAL_ADDRESS: tlsFront.address, TEMPORAL_NAMESPACE: 'no-such-namespace', ...tlsEnv(pki) }),
      /namespace 'no-such-namespace' does not exist/,
      /hint: create it/,
    ],
  ];

  it.each(failures)('%s: the CLI and both worker entry points exit 3 naming it', async (_label, env, error, hint) => {
    const vars: Record<string, string> = { ...env(), RUNBOOK_MANIFESTS: EXAMPLES };
    const entries: Array<[string[], string | undefined]> = [
      [['history', '--limit', '1'], undefined],
      [['worker', '--host', 'web-1'], undefined],
      [['--host', 'web-1'], WORKER_MAIN],
    ];
    const results = await Promise.all(entries.map(([args, script]) => runCli(args, { env: vars, script })));
    for (const result of results) {
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`error: cannot connect to Temporal at ${vars.TEMPORAL_ADDRESS}: `);
      expect(result.stderr).toMatch(error);
      expect(result.stderr).toMatch(hint);
      expect(result.stderr).not.toMatch(STACK_LINE);
    }
  });

  it('an unreachable address is named the same way by node dist/workers/main.js', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const worker = startWorkerProcess({
      taskQueue: uniqueName('nowhere'),
      hosts: ['web-1'],
      manifestsDir: EXAMPLES,
      env: { TEMPORAL_ADDRESS: address },
    });
    await expect(worker).rejects.toThrow(/worker exited with 3/);
    await expect(worker).rejects.toThrow(`error: cannot reach Temporal at ${address}: connection refused`);
  });

  it('an unknown profile is a usage error (exit 2) naming the profile and the file', async () => {
    const file = path.join(pki.dir, 'empty.toml');
    writeFileSync(file, '[profile.default]\naddress = "localhost:7233"\n');
    const result = await runCli(['history'], { env: { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `error: Temporal connection profile 'staging' in ${file}: Profile 'staging' not found`,
    );
    expect(result.stderr).not.toMatch(STACK_LINE);
  });

  it('a worker process over mTLS runs the workflows the CLI starts over mTLS', async () => {
    const taskQueue = uniqueName('mtls');
    const env = {
      TEMPORAL_ADDRESS: mtlsFront.address,
      ...tlsEnv(pki, { clientCert: pki.client, serverName: SERVER_NAME }),
      RUNBOOK_TASK_QUEUE: taskQueue,
      RUNBOOK_MANIFESTS: EXAMPLES,
    };
    const worker = await startWorkerProcess({ taskQueue, hosts: ['web-1'], manifestsDir: EXAMPLES, env });
    try {
      expect(worker.output()).toContain(`on ${mtlsFront.address}`);
      const inspect = await runCli(['inspect', 'almareia', '--json'], { env });
      expect(inspect.stderr).toBe('');
      expect(JSON.parse(inspect.stdout)).toMatchObject({ kind: 'inspect', outcome: 'succeeded' });
    } finally {
      await worker.stop();
    }
  });
});
