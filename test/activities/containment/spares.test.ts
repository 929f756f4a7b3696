import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runbookCgroupRoot } from '../../../src/activities/containment/cgroups';
import { spareScript } from '../../../src/activities/containment/spares';
import { runCommand } from '../../../src/activities/shell';

describe('spareScript', () => {
  it('changes folder, unsets what cd sets, exports exactly the environment and execs the argv, all quoted', () => {
    expect(spareScript(['printf', "it's %s\n", 'a b'], { A: "x'y", B: 'two\nlines' }, '/srv/app current')).toBe(
      [
        "cd -P -- '/srv/app current' || exit 125",
        'unset PWD OLDPWD',
        `export 'A=x'\\''y' 'B=two\nlines'`,
        `exec 'printf' 'it'\\''s %s\n' 'a b'`,
        '',
      ].join('\n'),
    );
  });

  it('leaves out the cd without a folder and the export without variables; undefined values are not exported', () => {
    expect(spareScript(['true'], { GONE: undefined }, undefined)).toBe("unset PWD OLDPWD\nexec 'true'\n");
  });

  it('refuses an environment with a name the shell cannot export (the command is then spawned)', () => {
    expect(spareScript(['true'], { 'A.B': '1' }, undefined)).toBeUndefined();
    expect(spareScript(['true'], { '1A': '1' }, undefined)).toBeUndefined();
  });
});

// A command after the first one becomes a spare shell started in advance, already in its cgroup: it must run
// exactly as a spawned command would (argv, folder, environment, cgroup), and nothing of it outlive it.
(runbookCgroupRoot() ? describe : describe.skip)('a command started from a spare shell', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-spares-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const report = [
    'echo "argv:$1|$2"',
    'echo "cwd:$(pwd)"',
    'env | sort',
    'echo "cgroup:$(grep ^0:: /proc/$$/cgroup | cut -d: -f3)"',
    // how long before now this process (the spare, then the command) started, in seconds
    'echo "age:$(awk -v t="$(cut -d" " -f22 /proc/$$/stat)" "{ print \\$1 - t / 100 }" /proc/uptime)"',
  ].join('\n');

  async function run(env: Record<string, string>) {
    const result = await runCommand({ argv: ['/bin/sh', '-c', report, 'sh', "it's", 'two\nlines'], cwd: dir, env });
    expect(result.exitCode).toBe(0);
    const lines = result.stdoutTail.trim().split('\n');
    const value = (prefix: string) => lines.find((l) => l.startsWith(prefix))!.slice(prefix.length);
    return {
      output: result.stdoutTail,
      env: lines.filter((l) => /^[A-Z_]+=/.test(l) && !l.startsWith('PWD=')), // the reporting shell sets PWD itself
      cwd: value('cwd:'),
      cgroup: value('cgroup:'),
      age: Number(value('age:')),
    };
  }

  it('runs with the argv, folder and environment it was given, in a cgroup of its own, started ahead', async () => {
    const env = { PATH: process.env.PATH!, APP_NAME: "shop's", MULTI: 'one\ntwo' };
    const first = await run(env); // spawned: no spare yet
    await new Promise((r) => setTimeout(r, 500)); // the spare started after the first command waits meanwhile
    const second = await run(env);
    for (const result of [first, second]) {
      expect(result.output).toContain("argv:it's|two\nlines\n");
      expect(result.cwd).toBe(dir);
      expect(result.env).toEqual([`APP_NAME=shop's`, 'MULTI=one', `PATH=${process.env.PATH}`]);
      expect(result.cgroup).toMatch(/\/runbook\/w-\d+-\d+\/a-\d+$/);
    }
    expect(first.age).toBeLessThan(0.4);
    expect(second.age).toBeGreaterThanOrEqual(0.4); // the spare: started before the command was asked for
    const cgroup = path.join(runbookCgroupRoot()!, second.cgroup.split('/runbook/')[1]);
    expect(readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8')).toBe(''); // nothing of it outlived it
  });
});
