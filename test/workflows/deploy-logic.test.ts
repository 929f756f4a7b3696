import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ReleasesView } from '../../src/activities/releases';
import { appLockWorkflowId, hostTaskQueue } from '../../src/common/names';
import type { RunReport } from '../../src/common/progress';
import { parseManifest } from '../../src/manifest/load';
import type { Manifest } from '../../src/manifest/types';
import { startStubWorkers, startTimeSkipping, type Call, type StubActivities } from '../support/time-skipping';
import { uniqueName } from '../support/temporal';

/*
 * The deploy workflow's logic on the time-skipping server, with stub activities: which host runs what in
 * which order, which undos run, what the database policy does, how the approval gate times out. Seconds,
 * not minutes; the real-process tests in deploy.test.ts prove the same against real apps.
 */

function manifestOf(yaml: string): Manifest {
  const result = parseManifest(yaml);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.manifest;
}

const SHOP = `
root: /srv/shop
source: { type: git, repo: /srv/git/shop.git }
steps:
  install: [{ name: install dependencies, run: [npm, ci] }]
  migrate: [{ name: migrate, run: [npm, run, migrate] }]
snapshot: { database: { urlEnv: DATABASE_URL } }
rollback: { database: POLICY }
health: { within: 30s, checks: [{ name: home, http: "http://127.0.0.1:5000/" }] }
approval: { timeout: 1h }
`;

interface Scenario {
  hosts?: string[];
  /** The release `current` points at before the deploy; none for a first deploy. */
  previous?: string;
  /** Activities whose first call fails (non-retryably), by name on any host, or as `host:activity`. */
  failing?: string[];
  requireApproval?: boolean;
  /** rollback.database; default if-migrated. */
  policy?: 'never' | 'if-migrated' | 'always';
}

const step = { exitCode: 0, durationMs: 5, outputTail: '', reused: false };

function stubs(manifest: Manifest, scenario: Scenario) {
  return (queue: string): StubActivities => {
    const failed = new Set<string>();
    const failsNow = (name: string) => {
      const host = queue.replace('runbook-host-', '');
      if (failed.has(name) || !(scenario.failing ?? []).some((f) => f === name || f === `${host}:${name}`))
        return false;
      failed.add(name);
      return true;
    };
    const act =
      <T>(name: string, value: T) =>
      async () => {
        if (failsNow(name)) {
          const { ApplicationFailure } = await import('@temporalio/common');
          throw ApplicationFailure.nonRetryable(`${name} failed on purpose`, 'StepFailed');
        }
        return value;
      };
    const view: ReleasesView = scenario.previous
      ? {
          current: scenario.previous,
          releases: [
            {
              id: scenario.previous,
              ref: 'v1',
              source: 'git',
              createdAt: '2026-01-01T00:00:00Z',
              workflowId: 'w',
              runId: 'r',
              status: 'good',
            },
          ],
        }
      : { releases: [] };
    return {
      loadManifest: act('loadManifest', manifest),
      checkEnvironment: act('checkEnvironment', '0 required variable(s) present'),
      describeReleases: act('describeReleases', view),
      prepareRelease: act('prepareRelease', { id: 'r2', ref: 'v2' }),
      runStep: act('runStep', step),
      snapshotDatabase: act('snapshotDatabase', { file: '/srv/shop/.runbook/snapshots/r2.dump' }),
      restoreDatabaseSnapshot: act('restoreDatabaseSnapshot', 'restored'),
      stopServices: act('stopServices', ['stopped web']),
      switchCurrent: act('switchCurrent', { current: 'r2' }),
      captureLogOffsets: act('captureLogOffsets', {}),
      startServices: act('startServices', ['started web']),
      checkHealth: act('checkHealth', 'answered 200'),
      markRelease: act('markRelease', 'marked'),
      pruneReleases: act('pruneReleases', []),
      recordRun: act('recordRun', 'recorded'),
      recordRunInDatabase: act('recordRunInDatabase', 'no audit database'),
    } as StubActivities;
  };
}

describe('deploy workflow logic (time-skipping server, stub activities)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startTimeSkipping();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function deploy(
    scenario: Scenario,
  ): Promise<{ report: RunReport; calls: Call[]; failure?: ApplicationFailure }> {
    const app = uniqueName('shop');
    const hosts = scenario.hosts ?? ['web'];
    const manifest = manifestOf(
      `app: ${app}\nhosts: [${hosts.join(', ')}]\n${SHOP.replace('POLICY', scenario.policy ?? 'if-migrated')}`,
    );
    const taskQueue = uniqueName('logic');
    const workers = await startStubWorkers(env, { taskQueue, hosts, stubs: stubs(manifest, scenario) });
    return workers.run(async () => {
      const run = env.client.workflow.execute('deploy', {
        taskQueue,
        workflowId: appLockWorkflowId(app),
        args: [{ app, ref: 'v2', ...(scenario.requireApproval ? { requireApproval: true } : {}) }],
      }) as Promise<RunReport>;
      try {
        return { report: await run, calls: workers.calls };
      } catch (error) {
        if (!(error instanceof WorkflowFailedError)) throw error;
        const failure = error.cause as ApplicationFailure;
        return { report: failure.details?.[0] as RunReport, calls: workers.calls, failure };
      }
    });
  }

  /** The host-side calls, as `host activity`, in the order the workflow made them. */
  const onHosts = (calls: Call[]) =>
    calls
      .filter((c) => c.queue.startsWith('runbook-host-'))
      .map((c) => `${c.queue.replace('runbook-host-', '')} ${c.activity}`);

  it('deploys hosts one after the other, then marks the release good and prunes on each', async () => {
    const { report, calls } = await deploy({ hosts: ['web-1', 'web-2'], previous: 'r1' });
    expect(report.outcome).toBe('succeeded');
    const order = onHosts(calls);
    const last = (host: string, activity: string) => order.lastIndexOf(`${host} ${activity}`);
    const first = (host: string, activity: string) => order.indexOf(`${host} ${activity}`);
    // web-2 starts only once web-1 is healthy.
    expect(last('web-1', 'checkHealth')).toBeLessThan(first('web-2', 'checkEnvironment'));
    // The release is marked good on every host only once every host is healthy.
    expect(last('web-2', 'checkHealth')).toBeLessThan(first('web-1', 'markRelease'));
    // Then the run is recorded in each host's deploy log.
    expect(order.slice(-6)).toEqual([
      'web-1 markRelease',
      'web-1 pruneReleases',
      'web-2 markRelease',
      'web-2 pruneReleases',
      'web-1 recordRun',
      'web-2 recordRun',
    ]);
    expect(
      calls.filter((c) => c.activity === 'markRelease').map((c) => (c.input as { status: string }).status),
    ).toEqual(['good', 'good']);
    expect(report.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining([`web-1: mark release ${report.release} good`, 'web-2: prune old releases']),
    );
  });

  it('undoes a failed second host in reverse: web-2 first, then web-1, each back on its previous release', async () => {
    const { report } = await deploy({ hosts: ['web-1', 'web-2'], previous: 'r1', failing: ['web-2:startServices'] });
    expect(report.outcome).toBe('rolled_back');
    const undone = report.steps.filter((s) => s.status === 'succeeded' && /switch back|start previous/.test(s.name));
    expect(undone.map((s) => s.name)).toEqual([
      'web-2: stop services and switch back to r1',
      'web-2: start previous services and check health',
      'web-1: stop services and switch back to r1',
      'web-1: start previous services and check health',
    ]);
  });

  it('if-migrated: restores the snapshot once a migration ran, and leaves the database alone when none did', async () => {
    const { report, calls } = await deploy({ previous: 'r1', failing: ['runStep'], policy: 'if-migrated' });
    // The first runStep is the install: it fails before any snapshot or migration, so nothing is restored.
    expect(report.outcome).toBe('rolled_back');
    expect(calls.map((c) => c.activity)).not.toContain('restoreDatabaseSnapshot');
    expect(report.details).toMatchObject({ migrated: false });

    const migrated = await deploy({ previous: 'r1', failing: ['checkHealth'], policy: 'if-migrated' });
    expect(migrated.report.outcome).toBe('rolled_back');
    const order = migrated.calls.map((c) => c.activity);
    expect(order.filter((a) => a === 'restoreDatabaseSnapshot')).toHaveLength(1);
    expect(order.indexOf('restoreDatabaseSnapshot')).toBeLessThan(order.lastIndexOf('startServices'));
    expect(migrated.report.details).toMatchObject({ migrated: true });
  });

  it('never: the snapshot is taken but never restored, even after a migration', async () => {
    const { report, calls } = await deploy({ previous: 'r1', failing: ['checkHealth'], policy: 'never' });
    expect(report.outcome).toBe('rolled_back');
    expect(calls.map((c) => c.activity)).toContain('snapshotDatabase');
    expect(calls.map((c) => c.activity)).not.toContain('restoreDatabaseSnapshot');
  });

  it('times out at the approval gate after approval.timeout and undoes what was done', async () => {
    const started = Date.now();
    const { report, failure } = await deploy({ previous: 'r1', requireApproval: true });
    expect(report.outcome).toBe('rolled_back');
    expect(report.error).toContain('deploy not approved: no approval within 1h');
    expect(failure?.type).toBe('DeployRolledBack');
    // The hour passed on the test server's clock, not the test's.
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('a failed first deploy has no release to go back to: it stops the new services and ends failed', async () => {
    const { report, calls, failure } = await deploy({ failing: ['checkHealth'] });
    expect(report.outcome).toBe('failed');
    expect(failure?.type).toBe('DeployFailed');
    expect(report.error).toContain('there is no previous release to go back to; services stopped');
    expect(
      calls.filter((c) => c.activity === 'switchCurrent').map((c) => (c.input as { releaseId: string }).releaseId),
    ).toEqual([report.release]);
  });

  it('a compensation that fails ends the deploy failed, naming what was left', async () => {
    const { report, failure } = await deploy({ previous: 'r1', failing: ['checkHealth', 'restoreDatabaseSnapshot'] });
    expect(report.outcome).toBe('failed');
    expect(failure?.type).toBe('DeployFailed');
    expect(report.error).toMatch(
      /ROLLBACK FAILED: restore database snapshot \(if-migrated\): .*restoreDatabaseSnapshot failed on purpose/,
    );
    expect(report.summary).toContain('FAILED and was not fully rolled back');
  });

  it('runs each step on its own host queue and loads the manifest on the workflow queue', async () => {
    const { calls } = await deploy({ hosts: ['web-1'], previous: 'r1' });
    expect(calls.find((c) => c.activity === 'loadManifest')?.queue).not.toMatch(/^runbook-host-/);
    expect(new Set(calls.filter((c) => c.activity === 'runStep').map((c) => c.queue))).toEqual(
      new Set([hostTaskQueue('web-1')]),
    );
  });
});
