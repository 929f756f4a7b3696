import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

describe("the package's main entry point (the client library)", () => {
  it('loads the run and schedule client without the terminal CLI, the dev harness or the workers', () => {
    const main = require(path.join(ROOT, 'package.json')).main as string;
    const run = spawnSync(
      process.execPath,
      [
        '-e',
        `const lib = require(${JSON.stringify(path.join(ROOT, main))});
         const loaded = Object.keys(require.cache).map((f) => require('node:path').relative(${JSON.stringify(ROOT)}, f));
         console.log(JSON.stringify({ exports: Object.keys(lib), loaded }));`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    const { exports, loaded } = JSON.parse(run.stdout) as { exports: string[]; loaded: string[] };
    expect(exports).toEqual(expect.arrayContaining(['Runs', 'connect', 'applySchedules', 'listSchedules']));
    const ours = loaded.filter((file) => file.startsWith('dist/'));
    expect(ours).toEqual(expect.arrayContaining(['dist/client/index.js', 'dist/client/runs.js']));
    expect(ours.filter((file) => /^dist\/(cli|devserver|workers|activities|workflows)\//.test(file))).toEqual([]);
    expect(loaded.filter((file) => /node_modules\/(commander|picocolors)\//.test(file))).toEqual([]);
  });
});
