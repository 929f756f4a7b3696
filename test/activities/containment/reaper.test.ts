import { spawn, type ChildProcess } from 'node:child_process';
import { reapDeadWorkers } from '../../../src/activities/containment';
import { waitFor } from '../../support/postgres';
import { processesMentioning } from '../../support/processes';

/*
 * A worker's marker names it by its pid, which means something only in its own pid namespace: a worker run
 * inside a container or an nspawn machine (as the seed tests run theirs) must not look dead to a worker
 * starting outside, or that one kills every command the first is running.
 */
describe("a starting worker reaps only dead workers' commands", () => {
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const child of started) child.kill('SIGKILL');
  });

  /** `sleep` carrying the marker of a worker whose pid and start time match no process out here. */
  async function markedSleep(ownNamespace: boolean): Promise<number> {
    const token = `${300 + Math.floor(Math.random() * 1e6) / 1e6}`;
    const marked = ['env', 'RUNBOOK_ATTEMPT=w-999999-1.1', 'sleep', token];
    const child = spawn(
      ownNamespace ? marked[0] : 'unshare',
      ownNamespace ? marked.slice(1) : ['--pid', '--fork', ...marked],
      {
        detached: true,
        stdio: 'ignore',
      },
    );
    started.push(child);
    let pid = 0;
    await waitFor(async () => {
      [pid] = processesMentioning(`sleep ${token}`.replace(' ', '\0'));
      if (!pid) throw new Error('not started yet');
    }, 10_000);
    return pid;
  }

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("ends a dead worker's marked command in its own pid namespace", async () => {
    const pid = await markedSleep(true);
    await reapDeadWorkers();
    await waitFor(async () => {
      if (alive(pid)) throw new Error('still running');
    }, 10_000);
  });

  it('leaves a marked command in another pid namespace alone: its worker pid means another process there', async () => {
    const pid = await markedSleep(false);
    await reapDeadWorkers();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(alive(pid)).toBe(true);
  });
});
