import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { environmentFileText, serviceEnvironment } from '../../src/activities/environment';

describe("an app's environment for its services", () => {
  it("holds the env file's names and the required ones, with the app environment's values, not the worker's others", () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'runbook-env-')), '.env');
    writeFileSync(file, 'SECRET_KEY=from-file\nFLASK_APP=app.py\n');
    const env = { SECRET_KEY: 'from-file', FLASK_APP: 'app.py', DATABASE_URI: 'postgresql://db/app', PATH: '/bin' };
    expect(serviceEnvironment({ env: { file, required: ['DATABASE_URI', 'MISSING'] } }, env)).toEqual({
      DATABASE_URI: 'postgresql://db/app',
      FLASK_APP: 'app.py',
      SECRET_KEY: 'from-file',
    });
  });

  it('writes NAME="value" lines with what systemd unescapes inside double quotes escaped', () => {
    expect(environmentFileText({ A: 'plain', B: 'quote " back \\ dollar $HOME tick `x`', C: 'two\nlines' })).toBe(
      'A="plain"\nB="quote \\" back \\\\ dollar \\$HOME tick \\`x\\`"\nC="two\nlines"\n',
    );
  });
});
