import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { stringify } from 'yaml';
import { activityConfigFromEnv } from '../../src/activities';
import { bakeActivities, serviceProblems, type BakeResult, type BakeState } from '../../src/activities/bake';
import { healthActivities } from '../../src/activities/health';
import { serviceActivities } from '../../src/activities/services';
import { demoManifest, stageDemoApp, type DemoBehavior } from '../../src/devserver/demo-app';
import { freePort } from '../../src/devserver/ports';
import { parseManifest } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';

/**
 * The bake on real app processes: one activity watches a started release for its whole window and fails the
 * first round that finds it unhealthy (500s, a dead process, a restart, memory or CPU over the limit).
 * Windows are a few seconds here; the deploy tests bake for a minute.
 */
describe('bake (real app processes)', () => {
  const config = activityConfigFromEnv();
  const services = serviceActivities(config);
  const { bake } = bakeActivities(config);
  const { captureLogOffsets, checkHealth } = healthActivities(config);
  const dirs: string[] = [];
  const started: Array<{ manifest: Manifest; dir: string }> = [];

  afterAll(async () => {
    for (const app of started)
      await new MockActivityEnvironment().run(() => services.stopServices(app)).catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the demo app with `behavior`, as a deploy's start step does; returns what a bake needs. */
  async function startApp(behavior: DemoBehavior, limits?: { memory?: string; cpu?: string }) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-bake-'));
    dirs.push(dir);
    const release = path.join(dir, 'release');
    stageDemoApp(release, 'v1', { behavior });
    const port = await freePort();
    const raw = demoManifest({
      app: `bake-${port}`,
      host: 'bake-host',
      root: path.join(dir, 'root'),
      staging: release,
      port,
    });
    const health = raw.health as Record<string, unknown>;
    Object.assign(health, { bake: '1m', bakeInterval: '1s' });
    if (limits) Object.assign((raw.services as Array<Record<string, unknown>>)[0], { limits });
    const parsed = parseManifest(stringify(raw));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const manifest = parsed.manifest;
    const logOffsets = (await new MockActivityEnvironment().run(() => captureLogOffsets({ manifest }))) as Record<
      string,
      number
    >;
    await new MockActivityEnvironment().run(() => services.startServices({ manifest, dir: release }));
    started.push({ manifest, dir: release });
    // As in a deploy, the bake begins once the first checks pass.
    await new MockActivityEnvironment().run(() =>
      checkHealth({ manifest, check: manifest.health.checks[0], withinMs: 30_000, intervalMs: 250 }),
    );
    return { manifest, logOffsets };
  }

  const bakeFor = (
    app: { manifest: Manifest; logOffsets: Record<string, number> },
    seconds: number,
    heartbeatDetails?: unknown,
  ) => {
    const env = new MockActivityEnvironment(heartbeatDetails ? { heartbeatDetails } : {});
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const until = new Date(Date.now() + seconds * 1000).toISOString();
    const run = env.run(() =>
      bake({ manifest: app.manifest, until, intervalMs: 1_000, logOffsets: app.logOffsets }),
    ) as Promise<BakeResult>;
    // Settled at once, so a bake that fails while another is awaited is not an unhandled rejection.
    const outcome = run.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    return {
      result: () => outcome.then((o) => ('error' in o ? Promise.reject(o.error) : o.value)),
      beats,
    };
  };

  const failure = async (promise: Promise<unknown>): Promise<ApplicationFailure> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'BakeFailed', nonRetryable: true });
    return error as ApplicationFailure;
  };

  it('a healthy release bakes for the whole window; one that degrades fails the round that sees it', async () => {
    const [healthy, http500, dies, grows, spins] = await Promise.all([
      startApp('ok', { memory: '200MiB' }),
      startApp('http500-after:3'),
      startApp('exit-after:3'),
      startApp('grow-after:3', { memory: '150MiB' }),
      startApp('spin-after:3', { cpu: '2%' }),
    ]);
    const began = Date.now();
    const runs = [healthy, http500, dies, grows, spins].map((app) => bakeFor(app, 12));

    const done = await runs[0].result();
    expect(Date.now() - began).toBeGreaterThanOrEqual(11_500);
    expect(done.rounds).toBeGreaterThanOrEqual(5);
    expect(done.summary).toMatch(
      /^healthy for \d+ round\(s\): 3 check\(s\), 1 service\(s\) running without a restart; web peak \d+(\.\d)? MiB, \d+% CPU$/,
    );
    // Heartbeats carry what the Web UI shows while it bakes: rounds, time left, the last result.
    expect(runs[0].beats.at(-1)).toMatchObject({ last: 'healthy', rounds: done.rounds });
    expect(runs[0].beats.some((b) => /^\d+\.\ds$/.test((b as { remaining: string }).remaining))).toBe(true);

    expect((await failure(runs[1].result())).message).toMatch(
      // The app may turn between its two checks, so the first round that sees it names one or both of them.
      /^bake failed with \S+ to go \(round \d+\): (home|login page) \(http:\S+\): answered 500, expected 200/,
    );
    expect((await failure(runs[2].result())).message).toMatch(
      /^bake failed with \S+ to go \(round \d+\): web is not running any more \(was pid \d+\)(; |$)/,
    );
    expect((await failure(runs[3].result())).message).toMatch(
      /: web uses \d+(\.\d)? MiB of memory, over its limit 150MiB$/,
    );
    expect((await failure(runs[4].result())).message).toMatch(
      /: web used \d+% CPU over the last \d+\.\ds, over its limit 2%$/,
    );
  }, 90_000);

  it('a retried attempt (its worker died) keeps the first attempt baseline: a new process is a restart', async () => {
    const app = await startApp('ok');
    const first = bakeFor(app, 2);
    await first.result();
    const baseline = (first.beats.at(-1) as { baseline: Record<string, { instance: string; describe: string }> })
      .baseline;
    expect(baseline.web.describe).toMatch(/^pid \d+$/);

    const resumed = { ...(first.beats.at(-1) as object), baseline: { web: { instance: '1@1', describe: 'pid 1' } } };
    const retry = bakeFor(app, 5, resumed);
    expect((await failure(retry.result())).message).toMatch(/: web restarted \(pid 1 → pid \d+\)$/);
  }, 60_000);

  it('a retried attempt reads each log on from where the last heartbeat says its predecessor had looked', async () => {
    const app = await startApp('ok');
    const [log] = Object.keys(app.logOffsets);
    mkdirSync(path.dirname(log), { recursive: true });
    appendFileSync(log, 'GET / 200\n'.repeat(100));
    const logged = statSync(log).size;
    const first = bakeFor(app, 2);
    await first.result();
    // Each look read on to the end of what the app had written; the heartbeat says how far.
    expect((first.beats.at(-1) as BakeState).logOffsets?.[log]).toBeGreaterThanOrEqual(logged);
    // A line the predecessor's looks had read past is not judged again; one written after them is.
    appendFileSync(log, 'Traceback (most recent call last): read by the first attempt\n');
    const resumed = { ...(first.beats.at(-1) as object), logOffsets: { [log]: statSync(log).size } };
    expect((await bakeFor(app, 2, resumed).result()).rounds).toBeGreaterThan(0);
    appendFileSync(log, 'Traceback (most recent call last): after it\n');
    expect((await failure(bakeFor(app, 2, resumed).result())).message).toMatch(
      /: no tracebacks \(logs app\.log free of Traceback\): app\.log contains 'Traceback' since the restart: Traceback \(most recent call last\): after it$/,
    );
  }, 60_000);
});

describe('serviceProblems: CPU is judged over a window of at least one second', () => {
  const parsed = parseManifest(
    stringify({
      app: 'cpu',
      host: 'h',
      root: '/srv/cpu',
      source: { type: 'copy', from: '/tmp/cpu' },
      services: [{ name: 'web', type: 'process', start: ['true'], limits: { cpu: '50%' } }],
      health: { bake: '10m' },
    }),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const service = parsed.manifest.services[0];
  const state = (): BakeState => ({
    baseline: { web: { instance: 'a', describe: 'pid 1' } },
    rounds: 0,
    peaks: {},
    remaining: '',
    last: '',
  });
  const at = (ms: number, cpuSeconds: number) => ({
    at: ms,
    seen: new Map([[service, { running: true, instance: 'a', describe: 'pid 1', cpuSeconds }]]),
  });

  it('one 10 ms clock tick a few milliseconds after the baseline is no burst of CPU', () => {
    const now = at(5, 0.01);
    const s = state();
    expect(serviceProblems(service, s, at(0, 0), now, now.seen.get(service)!)).toEqual([]);
    expect(s.peaks.web?.cpuPercent).toBeUndefined();
  });

  it('a second or more at over the limit is named with its share and window', () => {
    const now = at(2000, 1.8);
    const s = state();
    expect(serviceProblems(service, s, at(0, 0), now, now.seen.get(service)!)).toEqual([
      'web used 90% CPU over the last 2.0s, over its limit 50%',
    ]);
    expect(s.peaks.web?.cpuPercent).toBe(90);
  });

  it('a second under the limit passes and records its peak', () => {
    const now = at(1000, 0.2);
    const s = state();
    expect(serviceProblems(service, s, at(0, 0), now, now.seen.get(service)!)).toEqual([]);
    expect(s.peaks.web?.cpuPercent).toBe(20);
  });
});
