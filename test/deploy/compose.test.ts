import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_NAMESPACE, DEFAULT_TEMPORAL_ADDRESS, ORCHESTRATION_TASK_QUEUE } from '../../src/common/constants';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/common/search-attributes';

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

// No Docker engine runs here, so the cluster cannot start; this checks that it agrees with the code.
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

  it('mounts setup scripts that exist', () => {
    for (const name of ['setup-schema.sh', 'setup-namespace.sh', 'dynamicconfig.yaml']) {
      expect(() => readFileSync(path.join(ROOT, 'deploy', 'temporal', name))).not.toThrow();
    }
  });
});
