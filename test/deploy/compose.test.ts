import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_NAMESPACE, DEFAULT_TEMPORAL_ADDRESS, ORCHESTRATION_TASK_QUEUE } from '../../src/common/constants';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/common/search-attributes';
import { PORT_VARIABLES, serverEnvironment, SETUP_SCRIPTS, TEMPORAL_DB_USER } from '../support/cluster';
import type { Pki } from '../support/tls';

const ROOT = path.resolve(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  environment?: Record<string, string>;
  entrypoint?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

// Its images cannot be pulled here, so the cluster suite (make test-cluster) runs the same configuration on
// binaries built from the Go module; this checks that the compose file and that suite agree, and both the code.
describe('docker-compose.temporal.yml', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.temporal.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const services = compose.services;

  it('runs Temporal on PostgreSQL with schema setup by admin-tools, not the deprecated auto-setup image', () => {
    expect(Object.keys(services).sort()).toEqual([
      'postgresql',
      'runbook-worker',
      'temporal',
      'temporal-schema',
      'temporal-setup',
      'temporal-ui',
    ]);
    expect(services.temporal.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-schema'].image).toMatch(/^temporalio\/admin-tools:/);
    expect(JSON.stringify(compose)).not.toContain('auto-setup');
    expect(services.temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(services.temporal.depends_on).toMatchObject({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
  });

  it('publishes the frontend on the port the CLI and workers use by default', () => {
    const defaultPort = DEFAULT_TEMPORAL_ADDRESS.split(':')[1];
    expect(services.temporal.ports).toContain(`${defaultPort}:${defaultPort}`);
  });

  it('registers exactly the search attributes the workflows set', () => {
    const declared = services['temporal-setup'].environment?.RUNBOOK_SEARCH_ATTRIBUTES.split(' ').sort();
    expect(declared).toEqual(RUNBOOK_SEARCH_ATTRIBUTES.map((key) => key.name).sort());
    const script = readFileSync(path.join(ROOT, 'deploy', 'temporal', 'setup-namespace.sh'), 'utf8');
    expect(script).toContain('search-attribute create');
  });

  it('gives the worker the server, namespace, task queue and UI link the code expects', () => {
    const env = services['runbook-worker'].environment ?? {};
    const [, port] = DEFAULT_TEMPORAL_ADDRESS.split(':');
    expect(env.TEMPORAL_ADDRESS).toBe(`temporal:${port}`);
    expect(env.TEMPORAL_NAMESPACE).toBe(DEFAULT_NAMESPACE);
    expect(env.RUNBOOK_TASK_QUEUE).toBe(ORCHESTRATION_TASK_QUEUE);
    const uiPort = new URL(env.TEMPORAL_UI_URL).port;
    expect(services['temporal-ui'].ports).toContain(`${uiPort}:8080`);
    expect(services['temporal-ui'].environment?.TEMPORAL_ADDRESS).toBe(env.TEMPORAL_ADDRESS);
    expect(services['runbook-worker'].volumes).toContain(`./apps:${env.RUNBOOK_MANIFESTS}:ro`);
  });

  it('runs the server version the cluster suite builds from the Go module', () => {
    const script = readFileSync(path.join(ROOT, 'scripts', 'build-temporal-server.sh'), 'utf8');
    const version = /^TEMPORAL_SERVER_VERSION=(\S+)$/m.exec(script)?.[1];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(services.temporal.image).toBe(`temporalio/server:\${TEMPORAL_VERSION:-${version}}`);
    expect(services['temporal-schema'].image).toBe(
      `temporalio/admin-tools:\${TEMPORAL_ADMINTOOLS_VERSION:-${version}}`,
    );
    expect(services['temporal-setup'].image).toBe(services['temporal-schema'].image);
  });

  it('runs the setup steps the cluster suite runs: the same scripts, the same database login', () => {
    expect(services['temporal-schema'].entrypoint).toEqual(['/bin/sh', `/runbook-setup/${SETUP_SCRIPTS.schema}`]);
    expect(services['temporal-setup'].entrypoint).toEqual(['/bin/sh', `/runbook-setup/${SETUP_SCRIPTS.namespace}`]);
    expect(services['temporal-schema'].environment).toMatchObject({ POSTGRES_USER: TEMPORAL_DB_USER });
  });

  it('configures the server with every variable the cluster suite starts it with', () => {
    const pki = { ca: 'ca', server: { cert: 'c', key: 'k' } } as Pki;
    const ports = Object.fromEntries(PORT_VARIABLES.map((name) => [name, 1])) as Parameters<
      typeof serverEnvironment
    >[0]['ports'];
    const tested = serverEnvironment({ postgres: { host: 'h', port: 1 }, pki, ports });
    const composed = services.temporal.environment ?? {};
    const expected = Object.keys(tested).filter((name) => !(PORT_VARIABLES as readonly string[]).includes(name));
    expect(expected.filter((name) => !(name in composed))).toEqual([]);
    for (const name of ['DB', 'POSTGRES_USER'] as const) expect(composed[name]).toBe(tested[name]);
    // TLS is on in the suite; in compose each file is a variable an operator sets (off when empty).
    for (const name of expected.filter((n) => n.startsWith('TEMPORAL_TLS_')))
      expect(composed[name]).toMatch(/^\$\{TLS_[A-Z_]+:-(false)?\}$/);
    expect(services.temporal.volumes).toContain(
      './deploy/temporal/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/runbook.yaml:ro',
    );
  });

  it('gives every client of the frontend the TLS variables the CLI and workers read', () => {
    for (const name of ['temporal-setup', 'runbook-worker']) {
      expect(Object.keys(services[name].environment ?? {})).toEqual(
        expect.arrayContaining([
          'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
          'TEMPORAL_TLS_SERVER_NAME',
          'TEMPORAL_TLS_CLIENT_CERT_PATH',
          'TEMPORAL_TLS_CLIENT_KEY_PATH',
        ]),
      );
      expect(services[name].volumes).toContain('./deploy/temporal/tls:/etc/temporal/tls:ro');
    }
  });

  it('mounts setup scripts that exist', () => {
    for (const name of ['setup-schema.sh', 'setup-namespace.sh', 'dynamicconfig.yaml']) {
      expect(() => readFileSync(path.join(ROOT, 'deploy', 'temporal', name))).not.toThrow();
    }
  });
});
