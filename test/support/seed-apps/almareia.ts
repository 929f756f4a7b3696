import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { standinWheel } from './wheel';

/*
 * Almareia Mirapraia as its guide describes it (seed 003): a Flask app on Waitress, port 5000, one production
 * folder updated in place from a staging copy, with its tests run before the deploy. The stand-in serves /,
 * /login and /api/status, logs to app.log, and keeps its users' uploads in uploads/ (data, not code).
 */

export interface AlmareiaVersion {
  version: string;
  /** The stand-in stack's wheel version its requirements pin (a new one changes the venv). */
  stack: '1.0' | '1.1';
  /** /login answers 500: the deploy's health check fails and the folder is restored. */
  brokenLogin?: boolean;
}

/** Writes this version of the app into the staging folder, replacing what was there. */
export function stageAlmareia(staging: string, spec: AlmareiaVersion, wheels: Record<string, Buffer>): void {
  rmSync(staging, { recursive: true, force: true });
  const files: Record<string, string | Buffer> = {
    VERSION: `${spec.version}\n`,
    'requirements.txt': `--no-index\n--find-links wheels\nstandin-stack==${spec.stack}\n`,
    [`wheels/${standinWheel(spec.stack)}`]: wheels[spec.stack],
    'app.py': [
      'import json, os',
      '',
      'BASE = os.path.dirname(os.path.abspath(__file__))',
      "VERSION = open(os.path.join(BASE, 'VERSION')).read().strip()",
      "os.makedirs(os.path.join(BASE, 'uploads'), exist_ok=True)",
      '',
      'def app(environ, start_response):',
      "    path = environ['PATH_INFO']",
      "    if path == '/':",
      "        status, body = '200 OK', {'version': VERSION, 'page': 'home'}",
      "    elif path == '/login':",
      spec.brokenLogin
        ? "        status, body = '500 Internal Server Error', {'error': 'TemplateNotFound: login.html'}"
        : "        status, body = '200 OK', {'version': VERSION, 'page': 'login'}",
      "    elif path == '/api/status':",
      "        status, body = '200 OK', {'version': VERSION, 'uploads': sorted(os.listdir(os.path.join(BASE, 'uploads')))}",
      '    else:',
      "        status, body = '404 Not Found', {}",
      "    start_response(status, [('Content-Type', 'application/json')])",
      '    return [json.dumps(body).encode()]',
      '',
    ].join('\n'),
    'tests/test_app.py': [
      'import json, os, sys',
      'sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))',
      'import app',
      '',
      'def call(path):',
      '    seen = {}',
      "    body = app.app({'PATH_INFO': path}, lambda status, headers: seen.update(status=status))",
      "    return seen['status'], json.loads(b''.join(body))",
      '',
      'def test_home():',
      "    assert call('/')[0] == '200 OK'",
      '',
    ].join('\n'),
    'templates/login.html': `<form>Almareia ${spec.version}</form>\n`,
  };
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(staging, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}
