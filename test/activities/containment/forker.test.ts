import { endForker, forkDetached, whenStarted, type CommandProcess } from '../../../src/activities/containment/forker';
import { withParentDeathSignal } from '../../../src/activities/containment/parent-death';
import { isAlive, procStat } from '../../../src/activities/containment/proc';

// The forker starts spare shells for the worker so the worker never forks itself: what it starts must behave
// as a process the worker spawned (pid, pipes it owns, exit and close), and die when the forker dies.
describe('a process the forker started', () => {
  afterAll(() => endForker());

  function outcome(child: CommandProcess) {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (code: number | null, signal: string | null) => resolve([code, signal])),
    );
    const close = new Promise<void>((resolve) => child.once('close', () => resolve()));
    return { exit, close, output: () => ({ stdout, stderr }) };
  }

  it('has a pid and the pipes, takes stdin, and tells its output, exit status and close', async () => {
    const child = forkDetached(withParentDeathSignal(['/bin/sh', '-c', 'read -r line; eval "$line"']));
    expect(await whenStarted(child, 5_000)).toBe(true);
    expect(isAlive(child.pid!)).toBe(true);
    const { exit, close, output } = outcome(child);
    child.stdin!.end('echo out; echo err >&2; exit 3\n');
    expect(await exit).toEqual([3, null]);
    await close;
    expect(output()).toEqual({ stdout: 'out\n', stderr: 'err\n' });
  });

  it('is killed by its pid like a spawned process, and says so', async () => {
    const child = forkDetached(withParentDeathSignal(['sleep', '600']));
    expect(await whenStarted(child, 5_000)).toBe(true);
    const { exit, close } = outcome(child);
    expect(child.kill('SIGKILL')).toBe(true);
    expect(await exit).toEqual([null, 'SIGKILL']);
    await close;
  });

  it('is never started when the program does not exist', async () => {
    const child = forkDetached(['/nonexistent/program']);
    expect(await whenStarted(child, 5_000)).toBe(false);
  });

  it('dies with the forker (parent-death signal), is reported killed, and the next one gets a new forker', async () => {
    const child = forkDetached(withParentDeathSignal(['sleep', '600']));
    expect(await whenStarted(child, 5_000)).toBe(true);
    const { exit } = outcome(child);
    // this file's forker (earlier test files in the same Jest worker keep theirs)
    const forker = procStat(child.pid!)!.ppid;
    expect(procStat(forker)!.ppid).toBe(process.pid);
    process.kill(forker, 'SIGKILL');
    expect(await exit).toEqual([null, 'SIGKILL']);
    for (let i = 0; i < 100 && isAlive(child.pid!); i++) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(child.pid!)).toBe(false);

    const next = forkDetached(withParentDeathSignal(['sleep', '600']));
    expect(await whenStarted(next, 5_000)).toBe(true);
    const nextForker = procStat(next.pid!)!.ppid;
    expect([nextForker === forker, procStat(nextForker)!.ppid]).toEqual([false, process.pid]);
    const { exit: nextExit } = outcome(next);
    next.kill('SIGKILL');
    expect(await nextExit).toEqual([null, 'SIGKILL']);
  });
});
