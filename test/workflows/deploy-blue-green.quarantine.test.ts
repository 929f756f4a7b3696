import { appLockWorkflowId } from '../../src/common/names';
import { pidsListeningOn } from '../../src/activities/services/ports';
import { servingVersion } from '../../src/devserver/demo-app';
import { hammer } from '../../src/devserver/hammer';
import { freePort } from '../../src/devserver/ports';
import { startNginx, type LocalProxy } from '../../src/devserver/proxy';
import { createAppFixture, type AppFixture, type Behavior } from '../support/demo-app';
import { runOutcome } from '../support/runs';
import { connectClient, startTestWorker, type TestWorker } from '../support/temporal';

describe('deploy and rollback of a blue/green process service behind the real nginx', () => {
  let fx: AppFixture;
  let nginx: LocalProxy;
  let ports: [number, number];
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    temporal = await connectClient();
    fx = await createAppFixture({ name: 'bluegreen' });
    ports = [await freePort(), await freePort()];
    nginx = await startNginx(ports[0]);
    const [service] = fx.manifest.services as Array<Record<string, unknown>>;
    delete service.port;
    Object.assign(service, {
      start: ['python3', 'app.py', '{{port}}'],
      blueGreen: { ports, proxy: nginx.manifestProxy, check: '/login', drain: '500ms' },
    });
    // Through nginx, and watched for a while (the bake) before the previous release stops.
    const health = fx.manifest.health as { checks: Array<{ http?: string }> };
    for (const check of health.checks) if (check.http) check.http = check.http.replace(fx.url(''), nginx.url);
    Object.assign(health, { bake: '2s', bakeInterval: '500ms' });
    fx.save();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await fx?.cleanup();
    await nginx?.stop();
    await temporal?.close();
  });

  async function run(workflow: 'deploy' | 'rollback', args: Record<string, unknown>) {
    const handle = await temporal.client.workflow.start(workflow, {
      taskQueue: fx.taskQueue,
      workflowId: appLockWorkflowId(fx.app),
      args: [{ app: fx.app, ...args }],
    });
    return (await runOutcome(temporal.client, handle.workflowId)).report;
  }
  const deploy = (version: string, behavior: Behavior = 'ok') => {
    fx.stage(version, { behavior });
    return run('deploy', { ref: version });
  };
  /** Which processes listen on each slot's port. */
  const slots = () => ports.map((port) => pidsListeningOn(port));

  it('a client hammering nginx sees no failed request through a deploy, an automatic rollback and a rollback', async () => {
    expect((await deploy('v1')).outcome).toBe('succeeded');
    expect(await servingVersion(nginx.url)).toBe('v1');
    const client = hammer(`${nginx.url}/`);

    // A deploy: v2 starts on the idle port and is checked there, nginx switches, v1 stops after the drain.
    expect((await deploy('v2')).outcome).toBe('succeeded');
    const afterV2 = slots();
    expect(afterV2.filter((pids) => pids.length > 0)).toHaveLength(1);

    // v3 passes its own check on its port, but the deploy's health check (a traceback in its log) fails:
    // the rollback points nginx back at the v2 process, which never stopped, and stops v3.
    const broken = await deploy('v3', 'traceback');
    expect(broken.outcome).toBe('rolled_back');
    expect(slots()).toEqual(afterV2);
    expect(await servingVersion(nginx.url)).toBe('v2');

    // A release whose own check fails never gets a request: the rollback only stops it.
    expect((await deploy('v4', 'http500')).outcome).toBe('rolled_back');
    expect(slots()).toEqual(afterV2);

    // The rollback workflow to v1: started again on the idle port, checked, switched to, v2 stopped.
    const back = await run('rollback', {});
    expect(back.outcome).toBe('succeeded');
    expect(await servingVersion(nginx.url)).toBe('v1');

    const report = await client.stop();
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.ok).toBeGreaterThan(100);
    expect(report.versions.slice(0, 2)).toEqual(['v1', 'v2']);
    expect(report.versions).not.toContain('v4');
  });
});
