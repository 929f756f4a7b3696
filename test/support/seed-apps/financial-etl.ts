import { STANDIN_WHEEL } from './wheel';

/*
 * The Financial ETL divergence processor as its guide describes it (seed 001): a FastAPI app under Uvicorn
 * (/ and /api/health), an `audit` schema created once from schemas/audit/create_audit_tables.sql, the
 * connection test, and automation/daily_processor.py (--modo manual|auto --data-inicio --data-fim) recording
 * each run in audit.sessoes_processamento, writing its log to src/financial_etl/logs and a CSV report to
 * Datasets/.
 */

export function financialEtlFiles(
  version: string,
  wheel: Buffer,
  options: { brokenHealth?: boolean } = {},
): Record<string, string | Buffer | null> {
  // A broken release's /api/health reads a table no migration created: the server answers 500.
  const healthTable = options.brokenHealth ? 'audit.divergencias_processadas' : 'audit.sessoes_processamento';
  return {
    VERSION: `${version}\n`,
    'requirements.txt': `--no-index\n--find-links wheels\nstandin-stack==1.0\n`,
    'requirements_api.txt': `--no-index\n--find-links wheels\nstandin-stack==1.0\n`,
    [`wheels/${STANDIN_WHEEL}`]: wheel,
    '.gitignore': '.env\nvenv/\nsrc/financial_etl/logs/\nDatasets/\n',
    // Plain CREATEs, as the guide's script: a second run fails, which is why the deploy runs it once.
    'schemas/audit/create_audit_tables.sql': [
      'CREATE SCHEMA audit;',
      'CREATE TABLE audit.sessoes_processamento (id serial PRIMARY KEY, tipo_sessao text NOT NULL, modo text NOT NULL,',
      '  data_inicio date NOT NULL, data_fim date NOT NULL, status text NOT NULL, inicio_processamento timestamptz DEFAULT now());',
      'CREATE TABLE audit.operacoes (id serial PRIMARY KEY, sessao_id int REFERENCES audit.sessoes_processamento(id),',
      '  status text NOT NULL, timestamp_inicio timestamptz DEFAULT now());',
      '',
    ].join('\n'),
    'src/__init__.py': '',
    'src/financial_etl/__init__.py': '',
    'src/financial_etl/conn.py': [
      'import os',
      'from standin import db',
      '',
      'class _Connection:',
      '    def __init__(self, url):',
      '        self.url = url',
      "        db.query(url, 'SELECT 1')",
      '    def close(self):',
      '        pass',
      '',
      'def get_connection():',
      "    return _Connection(os.environ['DATABASE_URL'])",
      '',
    ].join('\n'),
    'src/financial_etl/api/__init__.py': '',
    'src/financial_etl/api/main.py': [
      'import json, os',
      'from standin import db',
      '',
      'ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))',
      "VERSION = open(os.path.join(ROOT, 'VERSION')).read().strip()",
      '',
      'def app(environ, start_response):',
      "    path = environ['PATH_INFO']",
      "    if path == '/':",
      "        body = {'service': 'financial-etl', 'version': VERSION}",
      "    elif path == '/api/health':",
      `        db.query(os.environ['DATABASE_URL'], 'SELECT count(*) FROM ${healthTable}')`,
      "        body = {'status': 'healthy', 'database': 'ok'}",
      '    else:',
      "        start_response('404 Not Found', [('Content-Type', 'application/json')])",
      "        return [b'{}']",
      "    start_response('200 OK', [('Content-Type', 'application/json')])",
      '    return [json.dumps(body).encode()]',
      '',
    ].join('\n'),
    'src/financial_etl/automation/__init__.py': '',
    'src/financial_etl/automation/daily_processor.py': [
      'import argparse, datetime, os, sys',
      'sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))',
      'from standin import db',
      '',
      'ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))',
      '',
      'def main():',
      "    parser = argparse.ArgumentParser(prog='daily_processor.py')",
      "    parser.add_argument('--modo', choices=['manual', 'auto'], default='auto')",
      "    parser.add_argument('--data-inicio')",
      "    parser.add_argument('--data-fim')",
      '    args = parser.parse_args()',
      '    today = datetime.date.today().isoformat()',
      '    inicio, fim = args.data_inicio or today, args.data_fim or args.data_inicio or today',
      "    url = os.environ['DATABASE_URL']",
      "    tipo = 'DAILY_AUTO' if args.modo == 'auto' else 'MANUAL'",
      '    rows = db.query(url, "INSERT INTO audit.sessoes_processamento (tipo_sessao, modo, data_inicio, data_fim, status) "',
      '                    "VALUES (%s, %s, %s, %s, \'SUCCESS\') RETURNING id" % (db.quote(tipo), db.quote(args.modo), db.quote(inicio), db.quote(fim)))',
      '    db.execute(url, "INSERT INTO audit.operacoes (sessao_id, status) VALUES (%s, \'SUCCESS\')" % rows[0][0])',
      "    logs = os.path.join(ROOT, 'src', 'financial_etl', 'logs')",
      '    os.makedirs(logs, exist_ok=True)',
      "    with open(os.path.join(logs, 'daily_processor_%s.log' % fim), 'a') as log:",
      "        log.write('sessao %s: %s %s..%s OK\\n' % (rows[0][0], args.modo, inicio, fim))",
      "    datasets = os.path.join(ROOT, 'Datasets')",
      '    os.makedirs(datasets, exist_ok=True)',
      "    with open(os.path.join(datasets, 'divergencias_%s_%s.csv' % (inicio, fim)), 'w') as report:",
      "        report.write('data_inicio,data_fim,modo\\n%s,%s,%s\\n' % (inicio, fim, args.modo))",
      "    print('Processamento concluído: sessão %s (%s, %s a %s)' % (rows[0][0], args.modo, inicio, fim))",
      '',
      "if __name__ == '__main__':",
      '    main()',
      '',
    ].join('\n'),
  };
}

/** The guide's unit for the API (Uvicorn with its workers), pointed at the current release. */
export function financialEtlUnit(root: string, port: number): string {
  return [
    '[Unit]',
    'Description=Financial ETL API',
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    `WorkingDirectory=${root}/current`,
    `ExecStart=${root}/current/venv/bin/uvicorn src.financial_etl.api.main:app --host 127.0.0.1 --port ${port} --workers 4`,
    'Restart=always',
    'RestartSec=2',
    '',
  ].join('\n');
}
