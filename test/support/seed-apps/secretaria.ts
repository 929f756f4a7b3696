import { STANDIN_WHEEL } from './wheel';

/*
 * Secretária Virtual as its guide describes it (seed 004): a Flask API and an RQ worker in one image built from
 * docker/Dockerfile, PostgreSQL and Redis beside them in docker-compose.prod.yml, migrations by `alembic upgrade
 * head`, /healthz checking Postgres, Redis and the workers' heartbeats, /metrics, and the tenant and secret
 * scripts. The image is built on the test's base image (no registry); the stand-in stack's wheel provides
 * gunicorn, alembic and rq. The stack's own PostgreSQL and Redis run from the same base image, which carries them.
 */

export interface SecretariaVersion {
  version: string;
  /** Migrations up to this number (0001 tenants and secret rotations, 0002 appointments, 0003 follow-ups). */
  migrations: number;
  /** /healthz answers 503: the release migrates, then fails its health checks. */
  brokenHealth?: boolean;
}

export interface SecretariaPorts {
  api: number;
  postgres: number;
  redis: number;
}

const MIGRATIONS: Record<number, string> = {
  1: [
    'CREATE TABLE tenants (id int PRIMARY KEY, slug text UNIQUE NOT NULL, domain text);',
    'CREATE TABLE secret_rotations (id serial PRIMARY KEY, tenant_id int, version text NOT NULL, at timestamptz DEFAULT now());',
  ].join('\n'),
  2: 'CREATE TABLE appointments (id serial PRIMARY KEY, tenant_id int REFERENCES tenants(id), starts_at timestamptz);',
  3: 'CREATE TABLE followups (id serial PRIMARY KEY, appointment_id int REFERENCES appointments(id), sent boolean);',
};

/** The database inside the stack: the base image's PostgreSQL, its data in a named volume. */
const POSTGRES_START = [
  'D=/var/lib/postgresql/secretaria;',
  '[ -s $$D/PG_VERSION ] || { /usr/lib/postgresql/15/bin/initdb -D $$D -U secretaria --auth=trust >/dev/null',
  "&& echo 'host all all all trust' >> $$D/pg_hba.conf; }",
  "&& exec /usr/lib/postgresql/15/bin/postgres -D $$D -c listen_addresses='*' -k /tmp",
].join(' ');

/** docker-compose.prod.yml: app and worker run `secretaria-app:${IMAGE_TAG}`, the release's own image. */
export function secretariaCompose(baseImage: string, ports: SecretariaPorts): string {
  const image = 'secretaria-app:${IMAGE_TAG}';
  return `services:
  postgres:
    image: ${baseImage}
    init: true
    user: postgres
    command: ["sh", "-c", "${POSTGRES_START.replace(/"/g, '\\"')}"]
    ports: ["127.0.0.1:${ports.postgres}:5432"]
    volumes: ["pgdata:/var/lib/postgresql"]
  redis:
    image: ${baseImage}
    init: true
    command: ["redis-server", "--bind", "0.0.0.0", "--port", "6379", "--protected-mode", "no", "--save", ""]
    ports: ["127.0.0.1:${ports.redis}:6379"]
  app:
    image: ${image}
    init: true
    env_file: .env
    command: ["gunicorn", "-b", "0.0.0.0:8080", "app:app"]
    ports: ["127.0.0.1:${ports.api}:8080"]
    depends_on: [postgres, redis]
  worker:
    image: ${image}
    init: true
    env_file: .env
    environment: { RQ_HEARTBEAT_SECONDS: "2" }
    command: ["rq", "worker", "default"]
    depends_on: [postgres, redis]
    deploy: { replicas: 2 }
volumes:
  pgdata: {}
`;
}

export function secretariaFiles(
  spec: SecretariaVersion,
  wheel: Buffer,
  baseImage: string,
  ports: SecretariaPorts,
): Record<string, string | Buffer | null> {
  const files: Record<string, string | Buffer | null> = {
    VERSION: `${spec.version}\n`,
    [`wheels/${STANDIN_WHEEL}`]: wheel,
    '.gitignore': '.env\n',
    '.dockerignore': '.env\n.runbook\n.git\n',
    'docker/Dockerfile': [
      `FROM ${baseImage}`,
      'ENV PATH=/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONUNBUFFERED=1',
      'COPY wheels /wheels',
      'RUN python3 -m venv /venv && /venv/bin/pip install --quiet --no-index --find-links /wheels standin-stack==1.0',
      'WORKDIR /app',
      'COPY . /app',
      '',
    ].join('\n'),
    'docker-compose.prod.yml': secretariaCompose(baseImage, ports),
    'app.py': [
      'import datetime, json, os',
      'from standin import db',
      'from standin.redisclient import Redis',
      '',
      "VERSION = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'VERSION')).read().strip()",
      `BROKEN = ${spec.brokenHealth ? 'True' : 'False'}`,
      '',
      'def workers(redis):',
      '    """Every RQ worker registered and fresh (RQ: rq:worker:<name>, last_heartbeat)."""',
      "    keys = redis.call('KEYS', 'rq:worker:*') or []",
      '    now = datetime.datetime.now(datetime.timezone.utc)',
      '    for key in keys:',
      "        beat = redis.call('HGET', key, 'last_heartbeat')",
      "        at = datetime.datetime.strptime(beat, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)",
      '        if (now - at).total_seconds() > 60:',
      "            return 'stale: %s' % key",
      "    return 'ok' if keys else 'no worker'",
      '',
      'def healthz():',
      '    checks = {}',
      '    try:',
      "        db.query(os.environ['DATABASE_URL'], 'SELECT 1')",
      "        checks['postgres'] = 'ok'",
      '    except Exception as error:',
      "        checks['postgres'] = 'error: %s' % error",
      '    try:',
      "        redis = Redis(os.environ['REDIS_URL'])",
      "        checks['redis'] = 'ok' if redis.call('PING') == 'PONG' else 'error'",
      "        checks['worker'] = workers(redis)",
      '        redis.close()',
      '    except Exception as error:',
      "        checks['redis'] = 'error: %s' % error",
      '    if BROKEN:',
      "        checks['llm'] = 'error: LLM_PROVIDER gemini without GEMINI_API_KEY'",
      "    ok = all(value == 'ok' for value in checks.values())",
      "    return ok, {'status': 'ok' if ok else 'error', 'version': VERSION, 'checks': checks}",
      '',
      'def app(environ, start_response):',
      "    path = environ['PATH_INFO']",
      "    if path == '/healthz':",
      '        ok, body = healthz()',
      "        start_response('200 OK' if ok else '503 Service Unavailable', [('Content-Type', 'application/json')])",
      "        return [json.dumps(body, separators=(',', ':')).encode()]",
      "    if path == '/metrics':",
      "        start_response('200 OK', [('Content-Type', 'text/plain; version=0.0.4')])",
      "        return [b'# TYPE secretaria_webhook_received_total counter\\nsecretaria_webhook_received_total 0\\n']",
      "    start_response('404 Not Found', [('Content-Type', 'text/plain')])",
      "    return [b'not found']",
      '',
    ].join('\n'),
    'scripts/provision_tenant.py': [
      '"""make deploy DEPLOY_ARGS="--domain D --tenant-id N --tenant-slug S": the tenant exists and serves D."""',
      'import argparse, os',
      'from standin import db',
      'parser = argparse.ArgumentParser()',
      "parser.add_argument('--tenant-id', type=int, required=True)",
      "parser.add_argument('--tenant-slug', required=True)",
      "parser.add_argument('--domain')",
      'args = parser.parse_args()',
      "db.execute(os.environ['DATABASE_URL'], 'INSERT INTO tenants (id, slug, domain) VALUES (%d, %s, %s) '",
      "           'ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, domain = EXCLUDED.domain'",
      "           % (args.tenant_id, db.quote(args.tenant_slug), db.quote(args.domain) if args.domain else 'NULL'))",
      "print('tenant %d (%s) provisioned' % (args.tenant_id, args.tenant_slug))",
      '',
    ].join('\n'),
    'scripts/rotate_secrets.py': [
      '"""Rotates the webhook and LLM secrets of one tenant (or all), recording which release did it."""',
      'import argparse, os',
      'from standin import db',
      'parser = argparse.ArgumentParser()',
      "parser.add_argument('--tenant-id', type=int)",
      'args = parser.parse_args()',
      "version = open('/app/VERSION').read().strip()",
      "db.execute(os.environ['DATABASE_URL'], 'INSERT INTO secret_rotations (tenant_id, version) VALUES (%s, %s)'",
      "           % (args.tenant_id if args.tenant_id is not None else 'NULL', db.quote(version)))",
      "print('secrets rotated (tenant %s) by %s' % (args.tenant_id, version))",
      '',
    ].join('\n'),
  };
  for (const [number, sql] of Object.entries(MIGRATIONS)) {
    const name = `alembic/versions/${String(number).padStart(4, '0')}.sql`;
    files[name] = Number(number) <= spec.migrations ? `${sql}\n` : null;
  }
  return files;
}
