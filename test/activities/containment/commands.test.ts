import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../../src/activities';
import { isAlive, leaseFile } from '../../../src/activities/containment';
import { runCommand } from '../../../src/activities/shell';
import { stepActivities, type StepResult } from '../../../src/activities/steps';
import { parseManifest } from '../../../src/manifest/load';
import { waitFor } from '../../support/postgres';
import { processesMentioning } from '../../support/processes';

describe('no process a command starts outlives it', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-containment-'));
  const victims: ChildProcess[] = [];
  afterAll(() => {
    for (const victim of victims) victim.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A script at a path only this test uses, so its processes can be found by their command line. */
  function script(name: string, body: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, body);
    return file;
  }

  /** A process that is not Runbook's: it must survive whatever Runbook stops. */
  function victim(): ChildProcess {
    const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    victims.push(child);
    return child;
  }

  describe.each([
    ['in a cgroup', undefined],
    ['by process group, process tree and marker (no cgroup)', 'process-group'],
  ])('%s', (_mode, containment) => {
    const saved = process.env.RUNBOOK_CONTAINMENT;
    beforeAll(() => {
      if (containment) process.env.RUNBOOK_CONTAINMENT = containment;
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.RUNBOOK_CONTAINMENT;
      else process.env.RUNBOOK_CONTAINMENT = saved;
    });

    it('a daemon the command double-forks (and setsid) is gone when the command returns', async () => {
      const daemon = script('daemon.sh', 'sleep 300\n');
      const result = await runCommand({
        argv: ['/bin/sh', '-c', `(setsid sh ${daemon} > /dev/null 2>&1 &); echo started`],
      });
      expect(result.exitCode).toBe(0);
      expect(result.stdoutTail.trim()).toBe('started');
      expect(processesMentioning(daemon)).toEqual([]);
    });

    it('a daemon caught in the middle of its exec is still found: 300 double-forks in a row on busy CPUs', async () => {
      // Without a cgroup the daemon is found by its environment, which /proc shows empty for the moment an
      // execve takes; on busy CPUs that moment is long enough for the scan after the command to land in it.
      const daemon = script(`daemon-busy-${containment ?? 'cgroup'}.sh`, 'sleep 300\n');
      const busy = [...os.cpus(), ...os.cpus()].map(() =>
        spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }),
      );
      try {
        const survivors: number[] = [];
        for (let i = 0; i < 300; i++) {
          await runCommand({ argv: ['/bin/sh', '-c', `(setsid sh ${daemon} > /dev/null 2>&1 &); echo started`] });
          survivors.push(...processesMentioning(daemon));
          for (const pid of processesMentioning(daemon)) process.kill(pid, 'SIGKILL');
        }
        expect(survivors).toEqual([]);
      } finally {
        for (const loop of busy) loop.kill('SIGKILL');
      }
    }, 120_000);

    it("a command that exits before reading all its input only ends its own run (EPIPE is not the worker's)", async () => {
      // Megabytes on stdin (a list of names for tar or zip) to a command that exits at once: the pipe breaks
      // while Node still writes into it.
      const result = await runCommand({ argv: ['/bin/sh', '-c', 'exit 3'], input: 'name\n'.repeat(1_000_000) });
      expect(result.exitCode).toBe(3);
    });

    it('a command that times out is stopped with everything it started, also what left its process group', async () => {
      const child = script('setsid-child.sh', 'sleep 300\n');
      const result = await runCommand({
        argv: ['/bin/sh', '-c', `setsid sh ${child} > /dev/null 2>&1 & sleep 300`],
        timeoutMs: 1_000,
      });
      expect(result.timedOut).toBe(true);
      await waitFor(async () => {
        if (processesMentioning(child).length > 0) throw new Error('the setsid child still runs');
      }, 3_000);
    });

    it('a command whose caller no longer wants its work (abort) is stopped with everything it started', async () => {
      const child = script(`aborted-${containment ?? 'cgroup'}.sh`, 'sleep 300\n');
      const abort = new AbortController();
      const running = runCommand({
        argv: ['/bin/sh', '-c', `setsid sh ${child} > /dev/null 2>&1 & sleep 300`],
        abort: abort.signal,
      });
      await waitFor(async () => {
        if (processesMentioning(child).length === 0) throw new Error('not started yet');
      }, 5_000);
      abort.abort();
      expect((await running).signal).toBe('SIGTERM');
      await waitFor(async () => {
        if (processesMentioning(child).length > 0) throw new Error('the setsid child still runs');
      }, 3_000);
    });

    it('a retry stops everything its predecessor left running, also children whose parent died, before it runs', async () => {
      const orphan = script(`orphan-${containment ?? 'cgroup'}.sh`, 'sleep 300\n');
      const ran = path.join(dir, `ran-${containment ?? 'cgroup'}`);
      const lease = `app/deploys/${containment ?? 'cgroup'}/install-0`;
      // The first attempt's command is still running (its worker lost it); its parent shell has exited, so
      // only its cgroup or marker still ties the orphan to the attempt.
      const first = runCommand({
        argv: ['/bin/sh', '-c', `(setsid sh ${orphan} > /dev/null 2>&1 &); echo first >> ${ran}; sleep 300`],
        lease,
      });
      await waitFor(async () => {
        if (processesMentioning(orphan).length === 0) throw new Error('not forked yet');
      }, 5_000);
      const second = await runCommand({ argv: ['/bin/sh', '-c', `echo second >> ${ran}`], lease });
      expect(second.exitCode).toBe(0);
      expect((await first).signal).toBe('SIGTERM');
      expect(processesMentioning(orphan)).toEqual([]);
      expect(readFileSync(ran, 'utf8')).toBe('first\nsecond\n');
    });
  });

  it('a recorded pid now used by another process, and a record naming foreign cgroups or variables, are not signalled', async () => {
    const target = victim();
    const lease = 'app/deploys/reused/install-0';
    mkdirSync(path.dirname(leaseFile(lease)), { recursive: true });
    writeFileSync(
      leaseFile(lease),
      JSON.stringify({
        key: lease,
        attempt: 'w-1-1.1',
        worker: 'w-1-1',
        main: { pid: target.pid, start: '1' }, // the pid, but not the start time of the recorded process
        cgroup: '/sys/fs/cgroup/unified',
        marker: { name: 'PATH', value: '/' },
      }),
    );
    const result = await runCommand({ argv: ['true'], lease });
    expect(result.exitCode).toBe(0);
    expect(isAlive(target.pid!)).toBe(true);
    expect(target.signalCode).toBeNull();
    expect(existsSync(leaseFile(lease))).toBe(false);
  });

  it('a symlink planted where a lease is kept is neither followed nor written through', async () => {
    const precious = path.join(dir, 'precious.txt');
    writeFileSync(precious, 'keep me\n');
    const lease = 'app/deploys/symlink/install-0';
    mkdirSync(path.dirname(leaseFile(lease)), { recursive: true });
    symlinkSync(precious, leaseFile(lease));
    const first = runCommand({ argv: ['sleep', '1'], lease });
    await waitFor(async () => {
      if (!lstatSync(leaseFile(lease)).isFile()) throw new Error('lease not recorded yet');
    }, 5_000);
    expect((await first).exitCode).toBe(0);
    expect(readFileSync(precious, 'utf8')).toBe('keep me\n');
    expect(existsSync(leaseFile(lease))).toBe(false);
  });

  it('a lease that cannot be recorded (a full disk) fails its attempt, with nothing the command started left running', async () => {
    const full = path.join(dir, 'full-state');
    mkdirSync(full, { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', full]);
    const saved = process.env.RUNBOOK_STATE_DIR;
    try {
      mkdirSync(path.join(full, 'leases'), { mode: 0o700 });
      spawnSync('/bin/sh', ['-c', `cat /dev/zero > ${full}/filler`]);
      process.env.RUNBOOK_STATE_DIR = full;
      const started = path.join(dir, 'unrecorded-daemon-started');
      const daemon = script('unrecorded-daemon.sh', `touch ${started}; sleep 300\n`);
      await expect(
        runCommand({
          argv: ['/bin/sh', '-c', `(setsid sh ${daemon} > /dev/null 2>&1 &); sleep 1`],
          lease: 'app/deploys/unrecordable/install-0',
        }),
      ).rejects.toThrow(/ENOSPC/);
      await waitFor(async () => {
        if (!existsSync(started)) throw new Error('the daemon has not started');
      }, 5_000);
      expect(processesMentioning(daemon)).toEqual([]);
    } finally {
      process.env.RUNBOOK_STATE_DIR = saved;
      execFileSync('umount', [full]);
    }
  });

  it.each([
    [
      'writable by others',
      (folder: string) => {
        mkdirSync(folder);
        chmodSync(folder, 0o777);
      },
    ],
    ['a symlink', (folder: string) => symlinkSync(dir, folder)],
  ])('refuses a state folder that is %s, before running anything', async (_problem, make) => {
    const folder = path.join(dir, `state-${_problem.replace(/\W+/g, '-')}`);
    make(folder);
    const ran = path.join(dir, `ran-${_problem.replace(/\W+/g, '-')}`);
    const saved = process.env.RUNBOOK_STATE_DIR;
    process.env.RUNBOOK_STATE_DIR = folder;
    try {
      await expect(runCommand({ argv: ['touch', ran], lease: 'app/deploys/unsafe/install-0' })).rejects.toThrow(
        new RegExp(`Runbook's state folder ${folder} (is writable by other users|is a symbolic link)`),
      );
    } finally {
      process.env.RUNBOOK_STATE_DIR = saved;
    }
    expect(existsSync(ran)).toBe(false);
  });

  it("a pid planted where a step's retry looks for its predecessor is not signalled", async () => {
    const root = path.join(dir, 'srv', 'planted');
    mkdirSync(root, { recursive: true });
    const parsed = parseManifest(`app: planted
host: h
root: ${root}
source: { type: copy, from: ${dir} }
steps:
  install:
    - { name: install, run: "true" }
`);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const target = victim();
    // Where Runbook kept a step's pid file, inside the app's folder that the app's own user may write.
    const steps = path.join(root, '.runbook', 'deploys', 'd1', 'steps');
    mkdirSync(steps, { recursive: true });
    writeFileSync(path.join(steps, 'install-0.pid'), String(target.pid));

    const activities = stepActivities(activityConfigFromEnv());
    const result: StepResult = await new MockActivityEnvironment().run(() =>
      activities.runStep({
        manifest: parsed.manifest,
        phase: 'install',
        index: 0,
        deployId: 'd1',
        dir: root,
        values: {},
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(target.exitCode).toBeNull();
    expect(target.signalCode).toBeNull();
  });
});
