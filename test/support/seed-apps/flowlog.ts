import { STANDIN_WHEEL } from './wheel';

/*
 * Flowlog as its guide describes it (seed 002): a Django project (manage.py showmigrations / migrate [--fake] /
 * collectstatic / shell -c), served by Gunicorn, with Celery workers for the `default` and `whatsapp` queues
 * that turn queued notifications into NotificationLog rows marked `sent`, and a logs/django.log the
 * post-deploy check reads for import errors.
 */

export interface FlowlogVersion {
  version: string;
  /** Migrations of the orders app up to this number (0002 adds the tracking_code column). */
  orderMigrations: number;
  /** Django logs an ImportError at startup (the guide's post-deploy check looks for it). */
  importError?: boolean;
}

const ORDER_MIGRATIONS: Record<number, string> = {
  1: 'CREATE TABLE orders_order (id serial PRIMARY KEY, status text NOT NULL);',
  2: 'ALTER TABLE orders_order ADD COLUMN tracking_code text;',
  3: 'CREATE INDEX orders_order_tracking_code ON orders_order (tracking_code);',
  4: 'ALTER TABLE orders_order ADD COLUMN carrier text;',
};
const ORDER_NAMES: Record<number, string> = {
  1: '0001_initial',
  2: '0002_order_tracking_code',
  3: '0003_tracking_code_index',
  4: '0004_order_carrier',
};

export function flowlogFiles(spec: FlowlogVersion, wheel: Buffer): Record<string, string | Buffer | null> {
  const files: Record<string, string | Buffer | null> = {
    VERSION: `${spec.version}\n`,
    'requirements.txt': `--no-index\n--find-links wheels\nstandin-stack==1.0\n`,
    [`wheels/${STANDIN_WHEEL}`]: wheel,
    '.gitignore': '.env\n.venv/\nlogs/\nstaticfiles/\n',
    'manage.py': [
      '#!/usr/bin/env python',
      'import os, sys',
      'from standin import django',
      "if __name__ == '__main__':",
      '    sys.exit(django.main(os.path.dirname(os.path.abspath(__file__))))',
      '',
    ].join('\n'),
    'flowlog/__init__.py': '',
    'flowlog/wsgi.py': [
      'import json, logging, os',
      'from standin import db',
      'from standin.redisclient import Redis',
      '',
      'BASE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))',
      "VERSION = open(os.path.join(BASE, 'VERSION')).read().strip()",
      "os.makedirs(os.path.join(BASE, 'logs'), exist_ok=True)",
      "logging.basicConfig(filename=os.path.join(BASE, 'logs', 'django.log'), level=logging.INFO, format='%(levelname)s %(message)s')",
      "logging.info('Flowlog %s booting (pid %d)', VERSION, os.getpid())",
      spec.importError
        ? "logging.error('ImportError: cannot import name \\'EvolutionClient\\' from \\'integrations.evolution\\'')"
        : '',
      '',
      'def application(environ, start_response):',
      "    path = environ['PATH_INFO']",
      "    if path == '/admin/login/':",
      "        body = json.dumps({'version': VERSION}).encode()",
      "    elif path == '/orders/notify/':",
      "        order = environ.get('QUERY_STRING', '').partition('=')[2]",
      "        Redis(os.environ['REDIS_URL']).call('LPUSH', 'whatsapp', 'order %s shipped' % order)",
      "        body = b'queued'",
      '    else:',
      "        start_response('404 Not Found', [('Content-Type', 'text/plain')])",
      "        return [b'not found']",
      "    start_response('200 OK', [('Content-Type', 'application/json')])",
      '    return [body]',
      '',
    ].join('\n'),
    'integrations/__init__.py': '',
    'integrations/models.py': [
      'import os',
      'from standin import db',
      '',
      'class _Query:',
      '    def __init__(self, where):',
      '        self.where = where',
      '    def exists(self):',
      "        sql = 'SELECT count(*) FROM integrations_notificationlog WHERE ' + self.where",
      "        return int(db.query(os.environ['DATABASE_URL'], sql)[0][0]) > 0",
      '',
      'class _Manager:',
      '    def filter(self, status):',
      "        return _Query('status = %s' % db.quote(status))",
      '',
      'class NotificationLog:',
      '    objects = _Manager()',
      '',
    ].join('\n'),
    'integrations/migrations/0001_initial.sql':
      'CREATE TABLE integrations_notificationlog (id serial PRIMARY KEY, message text, queue text, status text, worker text, created timestamptz DEFAULT now());\n',
    'static/css/flowlog.css': `/* Flowlog ${spec.version} */\nbody { font-family: sans-serif; }\n`,
  };
  for (const [number, sql] of Object.entries(ORDER_MIGRATIONS)) {
    files[`orders/migrations/${ORDER_NAMES[Number(number)]}.sql`] =
      Number(number) <= spec.orderMigrations ? `${sql}\n` : null;
  }
  return files;
}

/** The guide's three units: web (Gunicorn) and one Celery worker per queue. */
export function flowlogUnits(root: string, port: number): Record<string, string> {
  const unit = (description: string, exec: string) =>
    [
      '[Unit]',
      `Description=${description}`,
      '',
      '[Service]',
      `WorkingDirectory=${root}/current`,
      `ExecStart=${root}/current/.venv/bin/${exec}`,
      'Restart=on-failure',
      'RestartSec=1',
      '',
    ].join('\n');
  return {
    'flowlog-web.service': unit('Flowlog web', `gunicorn -w 2 -b 127.0.0.1:${port} flowlog.wsgi:application`),
    'flowlog-worker-default.service': unit(
      'Flowlog Celery worker (default)',
      'celery -A flowlog worker -Q default -n default@%H',
    ),
    'flowlog-worker-whatsapp.service': unit(
      'Flowlog Celery worker (whatsapp)',
      'celery -A flowlog worker -Q whatsapp -n whatsapp@%H',
    ),
  };
}
