import { readFileSync } from 'node:fs';
import { STANDIN_WHEEL } from './wheel';

/*
 * OrqueTask as its guide describes it (seed 000): a Flask app served by Gunicorn, PostgreSQL migrations by
 * `flask db upgrade`, an optional `python seed.py`, and required environment checked by app.py at import.
 * The stand-in stack's wheel provides gunicorn and flask; app.py reads the exported environment only (as
 * under Gunicorn and systemd), while the flask CLI also reads ./.env, as Flask's does.
 */

export interface OrquetaskVersion {
  version: string;
  /** Migrations up to this number (0001 creates processos, 0002 adds etapas, 0003 adds campos). */
  migrations: number;
  /** The release fails when Gunicorn imports it (a broken release that health checks catch). */
  brokenImport?: boolean;
}

const MIGRATIONS: Record<number, string> = {
  1: 'CREATE TABLE processos (id serial PRIMARY KEY, nome text NOT NULL);',
  2: 'CREATE TABLE etapas (id serial PRIMARY KEY, processo_id int REFERENCES processos(id), nome text NOT NULL);',
  3: 'CREATE TABLE campos_dinamicos (id serial PRIMARY KEY, etapa_id int REFERENCES etapas(id), rotulo text);',
};

export function orquetaskFiles(spec: OrquetaskVersion, wheel: Buffer): Record<string, string | Buffer | null> {
  const files: Record<string, string | Buffer | null> = {
    VERSION: `${spec.version}\n`,
    'requirements.txt': `--no-index\n--find-links wheels\nstandin-stack==1.0\n`,
    [`wheels/${STANDIN_WHEEL}`]: wheel,
    '.gitignore': '.env\nvenv/\n',
    'app.py': [
      'import json, os',
      'from standin import db',
      '',
      "REQUIRED = ['SENDGRID_API_KEY', 'EMAIL_FROM', 'SECRET_KEY', 'DATABASE_URI']",
      'missing = [name for name in REQUIRED if not os.environ.get(name)]',
      'if missing:',
      "    raise RuntimeError('Variáveis de ambiente obrigatórias ausentes: ' + ', '.join(missing))",
      spec.brokenImport ? 'import flask_mail_v3  # a dependency this release forgot in requirements.txt' : '',
      "VERSION = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'VERSION')).read().strip()",
      '',
      'def app(environ, start_response):',
      "    if environ['PATH_INFO'] != '/':",
      "        start_response('404 Not Found', [('Content-Type', 'text/plain')])",
      "        return [b'not found']",
      "    url = os.environ['DATABASE_URI']",
      '    tables = [r[0] for r in db.query(url, "SELECT tablename FROM pg_tables WHERE schemaname = \'public\' ORDER BY 1")]',
      "    processos = int(db.query(url, 'SELECT count(*) FROM processos')[0][0])",
      "    body = json.dumps({'version': VERSION, 'processos': processos, 'tables': tables,",
      "                       'flask_app': os.environ.get('FLASK_APP'), 'email_from': os.environ.get('EMAIL_FROM')})",
      "    start_response('200 OK', [('Content-Type', 'application/json')])",
      '    return [body.encode()]',
      '',
    ].join('\n'),
    'seed.py': [
      '# Example data: the onboarding process (the guide: python seed.py, optional).',
      'import os',
      'from standin import db, envfile',
      'envfile.load()',
      "url = os.environ['DATABASE_URI']",
      'if int(db.query(url, "SELECT count(*) FROM processos WHERE nome = \'Onboarding\'")[0][0]) == 0:',
      '    db.execute(url, "INSERT INTO processos (nome) VALUES (\'Onboarding\')")',
      "print('seed: onboarding process ready')",
      '',
    ].join('\n'),
  };
  for (const [number, sql] of Object.entries(MIGRATIONS)) {
    const name = `migrations/versions/${String(number).padStart(4, '0')}.sql`;
    files[name] = Number(number) <= spec.migrations ? `${sql}\n` : null;
  }
  return files;
}

/** The Gunicorn unit an operator writes once, as the guide says ("crie um serviço systemd"). */
export function orquetaskUnit(root: string, port: number): string {
  return [
    '[Unit]',
    'Description=OrqueTask (Gunicorn)',
    'After=network.target',
    '',
    '[Service]',
    `WorkingDirectory=${root}/current`,
    `ExecStart=${root}/current/venv/bin/gunicorn -w 4 -b 127.0.0.1:${port} app:app`,
    'Restart=on-failure',
    'RestartSec=1',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function readWheel(file: string): Buffer {
  return readFileSync(file);
}
