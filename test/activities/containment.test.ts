import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../src/activities';
import { runCommand } from '../../src/activities/shell';
import { stepActivities, type StepResult } from '../../src/activities/steps';
import { parseManifest } from '../../src/manifest/load';
import { waitFor } from '../support/postgres';
import { processesMentioning } from '../support/processes';

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

  it('a daemon the command double-forks (and setsid) is gone when the command returns', async () => {
    const daemon = script('daemon.sh', 'sleep 300\n');
    const result = await runCommand({
      argv: ['/bin/sh', '-c', `(setsid sh ${daemon} > /dev/null 2>&1 &); echo started`],
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdoutTail.trim()).toBe('started');
    expect(processesMentioning(daemon)).toEqual([]);
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
