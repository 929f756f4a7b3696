import path from 'node:path';
import { loadManifestFile } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';

const EXAMPLES = path.resolve(__dirname, '..', '..', 'examples');

function load(name: string): Manifest {
  const result = loadManifestFile(path.join(EXAMPLES, `${name}.yaml`));
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return result.manifest;
}

describe('the five seed runbooks as manifests', () => {
  it.each(['orquetask', 'financial-etl', 'flowlog', 'almareia', 'secretaria'])('%s is valid', (name) => {
    expect(load(name).app).toBe(name);
  });

  it('OrqueTask: required env, flask db upgrade, optional seed, gunicorn under systemd, daily pg_dump', () => {
    const m = load('orquetask');
    expect(m.env.required).toEqual([
      'SENDGRID_API_KEY',
      'EMAIL_FROM',
      'SECRET_KEY',
      'DATABASE_URI',
      'NOTIFICATION_RECIPIENTS',
    ]);
    expect(m.shared).toEqual({ files: ['.env'], dirs: ['logs'] });
    expect(m.steps.install.map((s) => s.run)).toContain('venv/bin/pip install -r requirements.txt');
    expect(m.steps.migrate[0].run).toBe('venv/bin/flask db upgrade');
    expect(m.steps.seed[0].run).toBe('venv/bin/python seed.py');
    expect(m.services).toEqual([expect.objectContaining({ type: 'systemd', unit: 'orquetask-gunicorn' })]);
    expect(m.schedules.find((s) => s.name === 'nightly-backup')).toMatchObject({ run: 'backup', cron: '0 2 * * *' });
    expect(m.notify.channels[0]).toMatchObject({
      email: { via: 'sendgrid', apiKeyEnv: 'SENDGRID_API_KEY', fromEnv: 'EMAIL_FROM' },
    });
    expect(m.backups?.offsite).toMatchObject({
      s3: { bucket: 'orquetask-backups', accessKeyIdEnv: 'BACKUP_S3_KEY_ID', partSizeMb: 16 },
      encrypt: { identityEnv: 'RUNBOOK_AGE_IDENTITY' },
    });
  });

  it('Financial ETL: daily processor at 07:00 São Paulo with --modo and dates, audit-schema dump, SMTP', () => {
    const m = load('financial-etl');
    const job = m.jobs.find((j) => j.name === 'daily-processor')!;
    expect(job.run).toEqual(
      expect.arrayContaining(['--modo', '{{mode}}', '--data-inicio', '{{from}}', '--data-fim', '{{to}}']),
    );
    expect(job.range).toBe('whole');
    expect(job.modes).toEqual(['manual', 'auto']);
    expect(m.steps.migrate[0]).toMatchObject({ name: 'create audit schema', once: true });
    expect(m.shared.dirs).toEqual(['src/financial_etl/logs', 'Datasets']);
    expect(m.schedules.find((s) => s.job === 'daily-processor')).toMatchObject({
      cron: '0 7 * * *',
      timezone: 'America/Sao_Paulo',
      mode: 'auto',
    });
    expect(m.backups?.targets.find((t) => t.name === 'audit')).toMatchObject({
      postgres: { format: 'custom', schemas: ['audit'] },
    });
    expect(m.health.checks.map((c) => ('http' in c ? c.http : undefined))).toContain(
      'http://127.0.0.1:8000/api/health',
    );
    expect(m.notify.channels[0]).toMatchObject({ email: { via: 'smtp', toEnv: 'NOTIFICATION_RECIPIENTS' } });
  });

  it('Flowlog: main/production only, migrate + collectstatic, web and two Celery workers, no down-migrations', () => {
    const m = load('flowlog');
    expect(m.source).toMatchObject({ type: 'git', allowedRefs: ['main', 'production'] });
    expect(m.steps.build[0].run).toBe('.venv/bin/python manage.py collectstatic --no-input');
    expect(m.services.map((s) => s.name)).toEqual(['web', 'worker-default', 'worker-whatsapp']);
    expect(m.rollback.database).toBe('never');
    expect(m.dependencies.some((c) => 'redis' in c)).toBe(true);
    expect(m.steps.migrate[0]).toMatchObject({ when: { params: ['fakeApp', 'fakeMigration'] } });
    expect(m.steps.migrate[0].run).toContain('--fake');
    expect(m.approval.before).toBe('migrate');
  });

  it('Almareia: in-place zip snapshot, process on port 5000, health on /, /login, /api/status and app.log', () => {
    const m = load('almareia');
    expect(m.strategy).toBe('in-place');
    expect(m.services[0]).toMatchObject({ type: 'process', port: 5000 });
    expect(
      m.health.checks.filter((c) => 'http' in c).map((c) => ('http' in c ? new URL(c.http).pathname : '')),
    ).toEqual(['/', '/login', '/api/status']);
    expect(m.health.checks.find((c) => 'logs' in c)).toMatchObject({ logs: 'app.log', deny: ['Traceback'] });
    expect(m.steps.preflight[0].run).toBe('python -m pytest -q');
  });

  it('Secretária: compose stack, alembic, /healthz, webhook alert, tenant arguments, tested restore', () => {
    const m = load('secretaria');
    expect(m.source).toMatchObject({
      type: 'image',
      image: 'secretaria-app',
      code: { type: 'git' },
      build: { context: '.', file: 'docker/Dockerfile' },
    });
    expect(m.shared.files).toEqual(['.env']);
    expect(m.services[0]).toMatchObject({
      type: 'compose',
      services: ['app', 'worker'],
      published: { postgres: '127.0.0.1:5432', redis: '127.0.0.1:6379' },
    });
    expect(m.steps.migrate[0].run).toEqual(expect.arrayContaining(['alembic', 'upgrade', 'head']));
    expect(m.steps.migrate[1]).toMatchObject({
      name: 'provision tenant',
      when: { params: ['tenantId', 'tenantSlug'] },
    });
    expect(m.health.checks).toContainEqual(
      expect.objectContaining({ heartbeat: expect.objectContaining({ key: 'rq:worker:*', field: 'last_heartbeat' }) }),
    );
    expect(m.jobs.map((j) => [j.name, j.cwd])).toEqual([
      ['rotate-secrets', undefined],
      ['restart-worker', undefined],
    ]);
    expect(Object.keys(m.params)).toEqual(['domain', 'tenantId', 'tenantSlug']);
    expect(m.notify.channels[0]).toMatchObject({ webhook: { urlEnv: 'MONITORING_WEBHOOK_URL' } });
    expect(m.backups?.verifyRestore?.target).toBe('postgres');
    expect(m.backups?.drill).toMatchObject({ maxRto: '30m' });
    expect(m.schedules.find((s) => s.run === 'drill')).toMatchObject({ target: 'postgres' });
    expect(m.backups?.offsite?.s3).toMatchObject({ endpoint: expect.stringMatching(/r2\.cloudflarestorage\.com$/) });
  });

  it('holds no secret values: every secret is an environment-variable name', () => {
    for (const name of ['orquetask', 'financial-etl', 'flowlog', 'almareia', 'secretaria']) {
      const text = JSON.stringify(load(name));
      expect(text).not.toMatch(/password\s*[:=]|sk_live|AIzaSy|postgresql:\/\/\w+:\w+@/i);
    }
  });
});
