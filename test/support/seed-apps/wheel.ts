import { createHash } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ZipFile } from 'yazl';

/*
 * The stand-in stack (test/support/seed-apps/standin) as a wheel, so the guides' own `pip install -r
 * requirements.txt` installs it offline (`--no-index --find-links wheels`) and puts `gunicorn`, `flask`,
 * `alembic`, `celery`, `rq` and `uvicorn` into the app's virtualenv, as the real packages would.
 */

export const standinWheel = (version = '1.0') => `standin_stack-${version}-py3-none-any.whl`;
export const STANDIN_WHEEL = standinWheel();

const SOURCE = path.join(__dirname, 'standin');
const ENTRY_POINTS = `[console_scripts]
alembic = standin.cli:alembic
celery = standin.workers:celery
flask = standin.cli:flask
gunicorn = standin.wsgi:gunicorn
rq = standin.workers:rq
uvicorn = standin.wsgi:uvicorn
waitress-serve = standin.wsgi:waitress
`;

function record(name: string, data: Buffer): string {
  const hash = createHash('sha256').update(data).digest('base64url');
  return `${name},sha256=${hash},${data.length}`;
}

/** Writes the wheel (of `version`, same code) into `dir` and returns its path. */
export async function writeStandinWheel(dir: string, version = '1.0'): Promise<string> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(path.join(SOURCE, 'standin')).filter((n) => n.endsWith('.py')))
    files.set(`standin/${name}`, readFileSync(path.join(SOURCE, 'standin', name)));
  const info = `standin_stack-${version}.dist-info`;
  files.set(`${info}/METADATA`, Buffer.from(`Metadata-Version: 2.1\nName: standin-stack\nVersion: ${version}\n`));
  files.set(
    `${info}/WHEEL`,
    Buffer.from('Wheel-Version: 1.0\nGenerator: runbook-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n'),
  );
  files.set(`${info}/entry_points.txt`, Buffer.from(ENTRY_POINTS));
  const lines = [...files].map(([name, data]) => record(name, data));
  files.set(`${info}/RECORD`, Buffer.from([...lines, `${info}/RECORD,,`, ''].join('\n')));

  const out = path.join(dir, standinWheel(version));
  const zip = new ZipFile();
  for (const [name, data] of files) zip.addBuffer(data, name, { mtime: new Date(2020, 0, 1) });
  zip.end();
  await new Promise<void>((resolve, reject) =>
    zip.outputStream.pipe(createWriteStream(out)).on('close', resolve).on('error', reject),
  );
  return out;
}
