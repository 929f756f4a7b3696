import path from 'node:path';
import { DeployInputError, planDeploy, undoLabel } from '../../src/common/deploy-plan';
import { isRefAllowed } from '../../src/common/refs';
import { loadManifestFile } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';

const example = (name: string): Manifest => {
  const result = loadManifestFile(path.resolve(__dirname, '..', '..', 'examples', `${name}.yaml`));
  if (!result.ok) throw new Error(name);
  return result.manifest;
};

describe('the deploy plan', () => {
  it('Flowlog deploys only main or production', () => {
    const flowlog = example('flowlog');
    expect(() => planDeploy(flowlog, { app: 'flowlog', ref: 'feature/login' })).toThrow(
      new DeployInputError(
        "ref 'feature/login' may not be deployed to flowlog; allowed: main, production (source.allowedRefs)",
      ),
    );
    expect(planDeploy(flowlog, { app: 'flowlog', ref: 'production' }).ref).toBe('production');
  });

  it('refuses refs that could be read as options or paths', () => {
    expect(() => planDeploy(example('orquetask'), { app: 'orquetask', ref: '--upload-pack=x' })).toThrow(
      /not a valid git ref/,
    );
    expect(() => planDeploy(example('orquetask'), { app: 'orquetask', ref: 'v1..v2' })).toThrow(/not a valid git ref/);
  });

  it('matches allowed refs with * inside one path segment', () => {
    expect(isRefAllowed('v2.4.1', ['v*'])).toBe(true);
    expect(isRefAllowed('release/2026-11', ['release/*'])).toBe(true);
    expect(isRefAllowed('release/a/b', ['release/*'])).toBe(false);
    expect(isRefAllowed('anything', undefined)).toBe(true);
  });

  it("Secretária: tenant params checked against their patterns and passed to the steps' templates", () => {
    const secretaria = example('secretaria');
    expect(() => planDeploy(secretaria, { app: 'secretaria', ref: 'v2.4', params: { tenantId: 'acme' } })).toThrow(
      "param 'tenantId'='acme' does not match [0-9]+",
    );
    expect(() => planDeploy(secretaria, { app: 'secretaria', ref: 'v2.4', params: { tenantId: '-42' } })).toThrow(
      "param 'tenantId' may not start with '-'",
    );
    const plan = planDeploy(secretaria, {
      app: 'secretaria',
      ref: 'v2.4',
      params: { tenantId: '42', tenantSlug: 'acme', domain: 'osmardev.online' },
    });
    expect(plan.values).toMatchObject({ tenantId: '42', tenantSlug: 'acme', domain: 'osmardev.online', ref: 'v2.4' });
    // make deploy DEPLOY_ARGS="--domain … --tenant-id 42 --tenant-slug acme": the tenant is provisioned in the
    // new image, after its migration, without asking for seed steps
    expect(plan.hosts[0].steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(['migrate: alembic upgrade head', 'migrate: provision tenant']),
    );
  });

  it('Almareia in place: archive, stop, copy, install, start, health — in the guide’s order; then old snapshots pruned', () => {
    const plan = planDeploy(example('almareia'), { app: 'almareia', ref: '2026-02-06' });
    expect(plan.hosts[0].steps.map((s) => s.name)).toEqual([
      'preflight: required environment',
      'preflight: pre-deploy tests on the staging copy',
      'snapshot: archive /srv/almareia',
      'stop services',
      'update: copy /srv/staging/almareia into /srv/almareia',
      'install: virtualenv (created on the first deploy)',
      'install: install dependencies',
      'start services',
      'health: home (http://127.0.0.1:5000/)',
      'health: login page (http://127.0.0.1:5000/login)',
      'health: api status (http://127.0.0.1:5000/api/status)',
      'health: no tracebacks in app.log (logs app.log free of Traceback)',
      'bake: watch for 15m',
    ]);
    expect(plan.compensations).toEqual([
      'restore archive of /srv/almareia',
      'start previous services and check health',
    ]);
    expect(plan.finish.map((h) => h.steps.map((s) => [s.action, s.name]))).toEqual([
      [['prune-in-place', 'prune old snapshots']],
    ]);
  });

  it('OrqueTask: database snapshot before migrations, restored on rollback only if migrated', () => {
    const plan = planDeploy(example('orquetask'), { app: 'orquetask', ref: 'main' });
    const names = plan.hosts[0].steps.map((s) => s.name);
    expect(names.indexOf('snapshot database')).toBe(names.indexOf('migrate: flask db upgrade') - 1);
    expect(names).not.toContain('seed: seed example data (onboarding process)');
    expect(plan.compensations).toEqual([
      'stop services and switch back to the previous release',
      'restore database snapshot (if-migrated)',
      'start previous services and check health',
    ]);
  });

  it("names each step's option group and the undos it registers; the saga takes exactly those", () => {
    const plan = planDeploy(example('orquetask'), { app: 'orquetask', ref: 'main' }, 'r1');
    const steps = plan.hosts[0].steps;
    const byAction = (action: string) => steps.filter((s) => s.action === action);
    expect(byAction('snapshot-database')).toEqual([
      expect.objectContaining({ group: 'database', undo: ['start-previous', 'restore-database'] }),
    ]);
    expect(byAction('stop-services')).toEqual([expect.objectContaining({ group: 'host', undo: ['switch-back'] })]);
    expect(byAction('prepare-release')).toEqual([expect.objectContaining({ group: 'release', undo: [] })]);
    expect(byAction('run-step').every((s) => s.group === 'step')).toBe(true);
    expect(byAction('health-check').every((s) => s.group === 'health')).toBe(true);
    // Undone in the reverse of registration: the compensations are the steps' undos, last first.
    expect(steps.flatMap((s) => s.undo.map((u) => undoLabel(u, example('orquetask'), 'web'))).reverse()).toEqual(
      plan.compensations,
    );
  });

  it('marks the release good and prunes old releases on every host once all are healthy, and says so', () => {
    const manifest = { ...example('orquetask'), hosts: ['web-1', 'web-2'] };
    const plan = planDeploy(manifest, { app: 'orquetask', ref: 'main' }, 'r1');
    expect(plan.finish.map((h) => [h.host, h.steps.map((s) => [s.action, s.name])])).toEqual([
      [
        'web-1',
        [
          ['mark-release-good', 'web-1: mark release r1 good'],
          ['prune-releases', 'web-1: prune old releases'],
        ],
      ],
      [
        'web-2',
        [
          ['mark-release-good', 'web-2: mark release r1 good'],
          ['prune-releases', 'web-2: prune old releases'],
        ],
      ],
    ]);
    // Hosts are undone in reverse order, each ending with its previous version started and checked.
    expect(plan.compensations).toEqual([
      'web-2: stop services and switch back to the previous release',
      'web-2: restore database snapshot (if-migrated)',
      'web-2: start previous services and check health',
      'web-1: stop services and switch back to the previous release',
      'web-1: restore database snapshot (if-migrated)',
      'web-1: start previous services and check health',
    ]);
  });

  it('in place with a database snapshot: the database is restored before the archive, as the saga runs them', () => {
    const almareia = example('almareia');
    const manifest: Manifest = {
      ...almareia,
      steps: { ...almareia.steps, migrate: [{ run: ['flask', 'db', 'upgrade'] }] },
      snapshot: { ...almareia.snapshot, database: { urlEnv: 'DATABASE_URL' } },
      rollback: { ...almareia.rollback, database: 'always' },
    } as Manifest;
    expect(planDeploy(manifest, { app: 'almareia', ref: 'v2' }).compensations).toEqual([
      'restore database snapshot (always)',
      'restore archive of /srv/almareia',
      'start previous services and check health',
    ]);
  });

  it('reads an undo with the release a running deploy goes back to', () => {
    const orquetask = example('orquetask');
    expect(undoLabel('switch-back', orquetask, 'web')).toBe('stop services and switch back to the previous release');
    expect(undoLabel('switch-back', orquetask, 'web', { previous: 'r0' })).toBe('stop services and switch back to r0');
    expect(undoLabel('switch-back', orquetask, 'web', {})).toBe('stop services and switch back to nothing');
  });

  it('Flowlog: the --fake step runs only when its params are given; the gate can stand before migrate', () => {
    const flowlog = example('flowlog');
    const names = (input: Partial<Parameters<typeof planDeploy>[1]>) =>
      planDeploy(flowlog, { app: 'flowlog', ref: 'main', ...input }).hosts[0].steps.map((s) => s.name);
    expect(names({})).not.toContain('migrate: fake the migration of hand-made columns');
    const faked = names({
      params: { fakeApp: 'orders', fakeMigration: '0002_order_tracking_code' },
      requireApproval: true,
    });
    expect(faked.slice(faked.indexOf('install: show pending migrations'))).toEqual([
      'install: show pending migrations',
      'approval',
      'snapshot database',
      'migrate: fake the migration of hand-made columns',
      'migrate: migrate',
      'build: collectstatic',
      'stop services',
      expect.stringMatching(/^switch current/),
      'start services',
      ...faked.filter((n) => n.startsWith('health:')),
    ]);
    expect(() => names({ params: { fakeApp: 'orders' } })).toThrow(
      new DeployInputError(
        "param 'fakeApp' is read by no step of this deploy (migrate: fake the migration of hand-made columns runs only when fakeApp and fakeMigration are given); leave it out, or ask for the step that reads it",
      ),
    );
  });

  it("Secretária: the release's image is built right after its files arrive, before its migration runs in it", () => {
    const plan = planDeploy(example('secretaria'), { app: 'secretaria', ref: 'v2.4' }, 'r1');
    expect(plan.hosts[0].steps.map((s) => `${s.action}: ${s.name}`)).toEqual([
      'check-environment: preflight: required environment',
      'check-dependency: preflight: postgres (postgres $DATABASE_URL)',
      'check-dependency: preflight: redis (redis $REDIS_URL)',
      'find-previous-release: snapshot: previous release',
      'prepare-release: update: release r1 from v2.4',
      'build-image: update: build image secretaria-app:r1',
      'snapshot-database: snapshot database',
      'run-step: migrate: alembic upgrade head',
      'stop-services: stop services',
      'switch-current: switch current → r1',
      'start-services: start services',
      'health-check: health: healthz: postgres, redis, worker heartbeat (http://127.0.0.1:8080/healthz)',
      'health-check: health: metrics exposed (http://127.0.0.1:8080/metrics)',
      'health-check: health: rq workers heartbeat (heartbeat rq:worker:*)',
    ]);
  });

  it('Secretária: tenant params given without the others the provisioning needs are refused, not dropped', () => {
    expect(() =>
      planDeploy(example('secretaria'), { app: 'secretaria', ref: 'v2.4', params: { tenantId: '42' } }),
    ).toThrow(
      /param 'tenantId' is read by no step of this deploy \(migrate: provision tenant runs only when tenantId and tenantSlug are given\)/,
    );
  });

  it('the approval gate stands before the phase the manifest names, by default before the switch', () => {
    const orquetask = example('orquetask');
    const gateAt = (before?: 'install' | 'migrate' | 'build' | 'seed' | 'switch') => {
      const manifest = before ? { ...orquetask, approval: { ...orquetask.approval, before } } : orquetask;
      const names = planDeploy(manifest, {
        app: 'orquetask',
        ref: 'main',
        requireApproval: true,
        seed: true,
      }).hosts[0].steps.map((s) => s.name);
      return names[names.indexOf('approval') + 1];
    };
    expect(gateAt()).toBe('stop services');
    expect(gateAt('install')).toBe('install: create virtualenv');
    expect(gateAt('migrate')).toBe('snapshot database');
    expect(gateAt('seed')).toBe('seed: seed example data (onboarding process)');
  });

  it('lists the bake as the last step of each host and says what a failure before the switch does', () => {
    const almareia = example('almareia');
    const plain = planDeploy(
      { ...almareia, health: { ...almareia.health, bake: undefined } },
      { app: 'almareia', ref: 'v2' },
    );
    expect(plain.onFailure).toEqual({ policy: 'rollback' });
    expect(plain.hosts[0].steps.some((s) => s.action === 'bake')).toBe(false);

    const baked = { ...almareia, onFailure: 'ask' as const, decisionTimeout: '30m' };
    const plan = planDeploy(baked, { app: 'almareia', ref: 'v2' });
    expect(plan.hosts[0].steps.at(-1)).toEqual({
      phase: 'health',
      action: 'bake',
      name: 'bake: watch for 15m',
      group: 'bake',
      undo: [],
    });
    expect(plan.onFailure).toEqual({ policy: 'ask', decisionTimeout: '30m' });
    expect(planDeploy(baked, { app: 'almareia', ref: 'v2', onFailure: 'rollback' }).onFailure).toEqual({
      policy: 'rollback',
    });
  });
});
