import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimExclusive, claimName } from '../../src/activities/attempt';
import { waitFor } from '../support/postgres';

const ROOT = path.resolve(__dirname, '..', '..');

// The claim that keeps two attempts of the same work apart: a kernel flock held through a descriptor of
// the claiming process, so it ends with its holder however the holder ends.
describe('claimExclusive', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-claim-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps a second claim in the same process waiting until the first is released, then removes the file', async () => {
    const file = path.join(dir, 'work.lock');
    const first = await claimExclusive(file, 'first');
    let second: Awaited<ReturnType<typeof claimExclusive>> | undefined;
    const waiting = claimExclusive(file, 'second').then((claim) => (second = claim));
    await new Promise((r) => setTimeout(r, 1_200));
    expect(second).toBeUndefined();
    await first.release();
    await waiting;
    expect(second).toBeDefined();
    await second!.release();
    expect(existsSync(file)).toBe(false);
  });

  it('is taken as soon as a holder that was SIGKILLed is gone: the lock cannot go stale', async () => {
    const file = path.join(dir, 'work.lock');
    // Another process holds it (flock -o: only the flock process itself holds the lock).
    const holder = spawn('flock', ['--exclusive', '-o', file, 'sleep', '60'], { stdio: 'ignore', detached: true });
    await waitFor(async () => {
      if (!existsSync(file)) throw new Error('not locked yet');
    }, 10_000);
    let claimed = false;
    const claim = claimExclusive(file, 'retry').then((c) => {
      claimed = true;
      return c;
    });
    await new Promise((r) => setTimeout(r, 1_200));
    expect(claimed).toBe(false);
    process.kill(-holder.pid!, 'SIGKILL'); // the holder and its sleep
    await (await claim).release();
    expect(claimed).toBe(true);
  });
});

// The claim every activity attempt takes (the worker's attempt interceptor): a name in the kernel's abstract
// socket namespace, held by a listening socket of the claiming process.
describe('claimName', () => {
  const name = () => `runbook-test-claim-${process.pid}-${Math.random().toString(36).slice(2)}`;

  it('keeps a second claim in the same process waiting until the first is released; other names are free', async () => {
    const work = name();
    const first = await claimName(work, 'first');
    let second: Awaited<ReturnType<typeof claimName>> | undefined;
    const waiting = claimName(work, 'second').then((claim) => (second = claim));
    const other = await claimName(name(), 'other work');
    await new Promise((r) => setTimeout(r, 1_200));
    expect(second).toBeUndefined();
    await first.release();
    await waiting;
    expect(second).toBeDefined();
    await second!.release();
    await other.release();
  });

  it('is taken as soon as a holder in another process was SIGKILLed: the claim cannot go stale', async () => {
    const work = name();
    const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'activities', 'attempt.js'))})
      .claimName(${JSON.stringify(work)}, 'holder').then(() => { console.log('claimed'); setInterval(() => {}, 1000); })`;
    const holder = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('claimed') && resolve());
      holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    let claimed = false;
    const claim = claimName(work, 'retry').then((c) => {
      claimed = true;
      return c;
    });
    await new Promise((r) => setTimeout(r, 1_200));
    expect(claimed).toBe(false);
    holder.kill('SIGKILL');
    await (await claim).release();
    expect(claimed).toBe(true);
  });
});
