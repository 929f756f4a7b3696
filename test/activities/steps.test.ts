import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../src/activities';
import { stepActivities } from '../../src/activities/steps';
import { BEYOND_ONE_STRING, writeLongDeployLog } from '../support/deploy-log';
import { parseManifest } from '../../src/manifest/load';
import { appPaths } from '../../src/common/names';

describe('a once: true step', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-once-'));
  const root = path.join(dir, 'srv');
  const counter = path.join(dir, 'runs');
  const manifestWith = (policy: string, name = 'create audit schema') => {
    const parsed = parseManifest(
      `app: once\nhost: h\nroot: ${root}\nsource: { type: git, repo: ${dir}/repo.git }\n` +
        `rollback: { database: ${policy} }\n` +
        `steps: { migrate: [ { name: ${name}, run: [sh, -c, 'echo ran >> ${counter}'], once: true } ] }\n`,
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.manifest;
  };
  const activities = stepActivities(activityConfigFromEnv());
  const run = (manifest: ReturnType<typeof manifestWith>, deployId: string) =>
    new MockActivityEnvironment().run(() =>
      activities.runStep({ manifest, phase: 'migrate', index: 0, deployId, dir, values: {} }),
    );
  const runs = () => (existsSync(counter) ? readFileSync(counter, 'utf8').trim().split('\n').length : 0);
  mkdirSync(root, { recursive: true });

  it('runs on the first deploy that reaches it and never again', async () => {
    const manifest = manifestWith('never');
    expect(await run(manifest, 'd1')).toMatchObject({ reused: false, exitCode: 0 });
    expect(await run(manifest, 'd2')).toMatchObject({ reused: true, ranOnce: 'd1' });
    expect(runs()).toBe(1);
  });

  it('runs again when the deploy that ran it failed and its database snapshot may have been restored', async () => {
    const manifest = manifestWith('if-migrated');
    expect(await run(manifest, 'd3')).toMatchObject({ reused: false });
    expect(runs()).toBe(2);
    appendFileSync(
      path.join(root, 'deploy_log.jsonl'),
      `${JSON.stringify({ runId: 'r4', kind: 'deploy', release: 'd4', outcome: 'succeeded' })}\n`,
    );
    expect(await run(manifest, 'd4')).toMatchObject({ reused: false });
    expect(await run(manifest, 'd5')).toMatchObject({ reused: true, ranOnce: 'd4' });
    expect(runs()).toBe(3);
  });

  it('finds the deploy that ran it behind years of later runs in the log (more than one string holds)', async () => {
    const manifest = manifestWith('if-migrated', 'seed reference data');
    const log = path.join(root, 'deploy_log.jsonl');
    const before = runs();
    expect(await run(manifest, 'd6')).toMatchObject({ reused: false });
    writeLongDeployLog(log, {
      bytes: BEYOND_ONE_STRING,
      app: 'once',
      first: [{ runId: 'r6', kind: 'deploy', release: 'd6', outcome: 'succeeded' }],
    });
    expect(await run(manifest, 'd7')).toMatchObject({ reused: true, ranOnce: 'd6' });
    // Found once, d6's success is kept with the step: later deploys do not read the log for it again.
    rmSync(log);
    expect(await run(manifest, 'd8')).toMatchObject({ reused: true, ranOnce: 'd6' });
    expect(runs()).toBe(before + 1);
  });

  it('finds the deploy that ran it in the copy logrotate made of the log', async () => {
    const manifest = manifestWith('if-migrated', 'backfill totals');
    const log = path.join(root, 'deploy_log.jsonl');
    const before = runs();
    expect(await run(manifest, 'd9')).toMatchObject({ reused: false });
    appendFileSync(log, `${JSON.stringify({ runId: 'r9', kind: 'deploy', release: 'd9', outcome: 'succeeded' })}\n`);
    // logrotate: the log renamed to a copy, compressed, and a new log begun by the runs since.
    writeFileSync(`${log}.1.gz`, gzipSync(readFileSync(log)));
    writeFileSync(log, `${JSON.stringify({ runId: 'r10', kind: 'job', outcome: 'succeeded' })}\n`);
    expect(await run(manifest, 'd10')).toMatchObject({ reused: true, ranOnce: 'd9' });
    expect(runs()).toBe(before + 1);
  });
});

describe("a step's done-marker", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-marker-'));
  const root = path.join(dir, 'srv');
  const counter = path.join(dir, 'runs');
  const parsed = parseManifest(
    `app: marked\nhost: h\nroot: ${root}\nsource: { type: git, repo: ${dir}/repo.git }\n` +
      `steps: { install: [ { name: count, run: [sh, -c, 'echo ran >> ${counter}'] } ] }\n`,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const manifest = parsed.manifest;
  const activities = stepActivities(activityConfigFromEnv());
  const run = (deployId: string) =>
    new MockActivityEnvironment().run(() =>
      activities.runStep({ manifest, phase: 'install', index: 0, deployId, dir, values: {} }),
    );
  const marker = (deployId: string) =>
    path.join(appPaths(manifest).stateDir, 'deploys', deployId, 'steps', 'install-0.done');
  const runs = () => readFileSync(counter, 'utf8').trim().split('\n').length;
  mkdirSync(root, { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("returns the step's result to a retry without running it again", async () => {
    expect(await run('d1')).toMatchObject({ reused: false, exitCode: 0 });
    expect(await run('d1')).toMatchObject({ reused: true, exitCode: 0, label: 'count' });
    expect(runs()).toBe(1);
  });

  it.each([
    ['empty', 'd2', ''],
    ['cut short', 'd3', '{"label":"count","exitCode":0,"dur'],
  ])(
    'runs the step again when the marker is %s (a machine that crashed before the kernel wrote it out)',
    async (_, deployId, text) => {
      const before = runs();
      expect(await run(deployId)).toMatchObject({ reused: false });
      writeFileSync(marker(deployId), text);
      expect(await run(deployId)).toMatchObject({ reused: false, exitCode: 0 });
      expect(runs()).toBe(before + 2);
      expect(await run(deployId)).toMatchObject({ reused: true });
      expect(runs()).toBe(before + 2);
    },
  );
});
