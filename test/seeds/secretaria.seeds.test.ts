import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/devserver/ports';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { queryColumn, waitFor } from '../support/postgres';
import { recordingHistories, saveHistory } from '../support/history';
import { runOutcome } from '../support/runs';
import { createGitRepo, type GitRepo } from '../support/seed-apps/git-repo';
import { secretariaCompose, secretariaFiles, type SecretariaPorts } from '../support/seed-apps/secretaria';
import { rewriteExample, startSeedRun, type SeedRun } from '../support/seed-apps/seed-run';
import { writeStandinWheel } from '../support/seed-apps/wheel';
import { seedDocker, seedScratchDir } from '../support/seed-services';
import { connectClient, uniqueName } from '../support/temporal';

/*
 * Seed 004, Secretária Virtual: examples/secretaria.yaml deployed as written (paths, host, ports and repository
 * rewritten for this machine) under the real Docker engine and Compose v2: each release's image built from its
 * git checkout and tagged with the release, `alembic upgrade head` run in the new image before the switch,
 * /healthz, every RQ worker's heartbeat, the tenant arguments, the jobs in the current release, and a broken
 * release rolled back to the previous release's image with the database snapshot restored through the
 * published PostgreSQL port.
 */
jest.setTimeout(600_000);

const PROJECT = 'secretaria';

describe('Secretária Virtual (seed 004) under a real Docker engine', () => {
  const { docker, env: dockerEnv, baseImage } = seedDocker();
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let dir: string;
  let root: string;
  let repo: GitRepo;
  let wheel: Buffer;
  let ports: SecretariaPorts;
  let databaseUrl: string;
  let monitoring: HttpRecorder;
  let run: SeedRun;

  const compose = (...args: string[]) => docker(['compose', '-p', PROJECT, ...args]);
  const current = () => path.basename(readlinkSync(path.join(root, 'current')));
  const release = (id: string) => path.join(root, 'releases', id);
  /** The image each running container of a service was started from. */
  const runningImages = async (service: string) =>
    (
      await docker([
        'ps',
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`,
        '--filter',
        `label=com.docker.compose.service=${service}`,
        '--format',
        '{{.Image}}',
      ])
    )
      .trim()
      .split('\n')
      .filter(Boolean);
  const healthz = async () => {
    const response = await fetch(`http://127.0.0.1:${ports.api}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: (await response.json()) as { status: string; version: string } };
  };
  const workerKeys = async () => {
    const redis = new Redis(`redis://127.0.0.1:${ports.redis}/0`);
    try {
      return (await redis.keys('rq:worker:*')).sort();
    } finally {
      redis.disconnect();
    }
  };
  const tables = () =>
    queryColumn(databaseUrl, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");

  beforeAll(async () => {
    temporal = await connectClient();
    dir = seedScratchDir(uniqueName('secretaria'));
    root = path.join(dir, 'home', 'secretaria', 'app');
    repo = createGitRepo(path.join(dir, 'repo'));
    wheel = readFileSync(await writeStandinWheel(dir));
    ports = { api: await freePort(), postgres: await freePort(), redis: await freePort() };
    databaseUrl = `postgresql://secretaria:senha-forte-0123@127.0.0.1:${ports.postgres}/postgres`;
    monitoring = await startHttpRecorder();
    // A stack a killed run left on the shared engine
    await compose('down', '--volumes', '--remove-orphans', '--timeout', '1');

    // What the guide has the operator do once: the .env (outside git, chmod 600) naming the containers, and the
    // stack's PostgreSQL and Redis up (the dependency checks reach them through their published ports).
    mkdirSync(path.join(root, 'shared'), { recursive: true });
    writeFileSync(
      path.join(root, 'shared', '.env'),
      [
        'DATABASE_URL=postgresql://secretaria:senha-forte-0123@postgres:5432/postgres',
        'REDIS_URL=redis://redis:6379/0',
        'SHARED_SECRET=whk-7f3a9c2e5b1d',
        'JWT_SECRET=jwt-0c4e8a2f6b9d1e3a',
        `MONITORING_WEBHOOK_URL=${monitoring.url}/alerts`,
        'LLM_PROVIDER=gemini',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const bootstrap = path.join(dir, 'bootstrap');
    mkdirSync(bootstrap);
    writeFileSync(path.join(bootstrap, 'docker-compose.prod.yml'), secretariaCompose(baseImage, ports));
    writeFileSync(path.join(bootstrap, '.env'), '');
    await docker(
      [
        'compose',
        '-p',
        PROJECT,
        '-f',
        path.join(bootstrap, 'docker-compose.prod.yml'),
        'up',
        '-d',
        'postgres',
        'redis',
      ],
      {
        env: { IMAGE_TAG: 'none' },
      },
    );
    await waitFor(async () => void (await queryColumn(databaseUrl, 'SELECT 1')), 60_000, 500);

    const host = uniqueName('vps');
    run = await startSeedRun({
      client: temporal.client,
      app: 'secretaria',
      host,
      dir,
      env: dockerEnv,
      manifestText: rewriteExample('secretaria', [
        ['host: vps-1', `host: ${host}`],
        ['/home/secretaria/app', root],
        ['/home/secretaria/backups', path.join(dir, 'backups')],
        ['git@git.example.com:osmardev/secretaria-virtual.git', repo.url],
        ['127.0.0.1:8080', `127.0.0.1:${ports.api}`],
        ['127.0.0.1:5432', `127.0.0.1:${ports.postgres}`],
        ['127.0.0.1:6379', `127.0.0.1:${ports.redis}`],
      ]),
    });
  });
  afterAll(async () => {
    await run?.stop();
    await compose('down', '--volumes', '--remove-orphans', '--timeout', '1').catch(() => undefined);
    const images = (await docker(['image', 'ls', '--filter', 'label=runbook.app=secretaria', '--format', '{{.ID}}']))
      .trim()
      .split('\n')
      .filter(Boolean);
    if (images.length > 0) await docker(['image', 'rm', '--force', ...new Set(images)]).catch(() => undefined);
    await monitoring?.close();
    await temporal?.close();
  });

  it('deploys v1 with the tenant arguments: image built from the release, migrated in it, every worker beating', async () => {
    repo.commit(secretariaFiles({ version: 'v1', migrations: 1 }, wheel, baseImage, ports), 'Secretária v1', 'v1');
    const first = await run.deploy({
      ref: 'v1',
      params: { domain: 'osmardev.online', tenantId: '42', tenantSlug: 'acme' },
    });
    expect([first.report.outcome, first.report.error]).toEqual(['succeeded', undefined]);
    if (recordingHistories()) saveHistory('deploy-image-built', first.report.workflowId, first.report.runId);
    const r1 = current();

    // the release holds the ref's compose file and build context, and its image is tagged with the release
    expect(existsSync(path.join(release(r1), 'docker-compose.prod.yml'))).toBe(true);
    expect(existsSync(path.join(release(r1), 'docker', 'Dockerfile'))).toBe(true);
    expect(readlinkSync(path.join(release(r1), '.env'))).toBe(path.join(root, 'shared', '.env'));
    expect(
      (
        await docker(['image', 'inspect', '--format', '{{index .Config.Labels "runbook.ref"}}', `secretaria-app:${r1}`])
      ).trim(),
    ).toBe('v1');
    expect(await runningImages('app')).toEqual([`secretaria-app:${r1}`]);
    expect(await runningImages('worker')).toEqual([`secretaria-app:${r1}`, `secretaria-app:${r1}`]);

    expect(await healthz()).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok', version: 'v1' }) });
    // the heartbeat check read one rq:worker:<name> hash per worker container (through the published Redis port)
    expect(first.report.steps.find((s) => s.name.startsWith('health: rq workers heartbeat'))?.status).toBe('succeeded');
    expect(await workerKeys()).toHaveLength(2);
    // alembic ran in the new image, through the app's compose project; the tenant arguments reached their step
    expect(await queryColumn(databaseUrl, 'SELECT version_num FROM alembic_version')).toEqual(['0001']);
    expect(await queryColumn(databaseUrl, "SELECT id || ' ' || slug || ' ' || domain FROM tenants")).toEqual([
      '42 acme osmardev.online',
    ]);
  });

  it("deploys v2: its migration runs in v2's image before the switch, then v2 serves", async () => {
    const r1 = current();
    repo.commit(secretariaFiles({ version: 'v2', migrations: 2 }, wheel, baseImage, ports), 'Secretária v2', 'v2');
    const second = await run.deploy({ ref: 'v2' });
    expect([second.report.outcome, second.report.error]).toEqual(['succeeded', undefined]);
    const r2 = current();
    expect(r2).not.toBe(r1);
    // 0002 exists only in v2's files: the migration ran in the new image
    expect(await queryColumn(databaseUrl, 'SELECT version_num FROM alembic_version')).toEqual(['0002']);
    expect(await runningImages('app')).toEqual([`secretaria-app:${r2}`]);
    expect((await healthz()).body.version).toBe('v2');
    // the previous release keeps its image: the way back
    expect((await docker(['image', 'inspect', '--format', '{{.Id}}', `secretaria-app:${r1}`])).trim()).toMatch(
      /^sha256:/,
    );
  });

  it("runs the guide's jobs in the current release's folder, with its image", async () => {
    const r2 = current();
    const workerIds = async () => (await compose('ps', '--quiet', 'worker')).trim().split('\n').filter(Boolean).sort();
    const startedAt = async () =>
      (await docker(['inspect', '--format', '{{.State.StartedAt}}', ...(await workerIds())])).trim();
    const before = await startedAt();
    const job = async (name: string, params?: Record<string, string>) => {
      const handle = await temporal.client.workflow.start('job', {
        taskQueue: run.taskQueue,
        workflowId: uniqueName(`secretaria-${name}`),
        args: [{ app: 'secretaria', job: name, ...(params ? { params } : {}) }],
      });
      return runOutcome(temporal.client, handle.workflowId);
    };

    const restart = await job('restart-worker');
    expect([restart.report.outcome, restart.report.error]).toEqual(['succeeded', undefined]);
    expect(await startedAt()).not.toBe(before);
    expect(await runningImages('worker')).toEqual([`secretaria-app:${r2}`, `secretaria-app:${r2}`]);

    const rotate = await job('rotate-secrets', { tenantId: '42' });
    expect([rotate.report.outcome, rotate.report.error]).toEqual(['succeeded', undefined]);
    expect(await queryColumn(databaseUrl, "SELECT tenant_id || ' ' || version FROM secret_rotations")).toEqual([
      '42 v2',
    ]);
    // `compose run` left no container behind
    expect((await docker(['ps', '-a', '--filter', 'name=runbook-', '--format', '{{.Names}}'])).trim()).toBe('');
  });

  it("rolls back a release that fails /healthz to the previous release's image, its migration undone, and alerts", async () => {
    const r2 = current();
    repo.commit(
      secretariaFiles({ version: 'v3', migrations: 3, brokenHealth: true }, wheel, baseImage, ports),
      'Secretária v3: follow-ups',
      'v3',
    );
    const broken = await run.deploy({ ref: 'v3' });
    expect([broken.report.outcome, broken.report.error]).toEqual([
      'rolled_back',
      expect.stringMatching(/healthz: postgres, redis, worker heartbeat .*answered 503/s),
    ]);
    if (recordingHistories()) saveHistory('deploy-image-rolled-back', broken.report.workflowId, broken.report.runId);
    const r3 = readdirSync(path.join(root, 'releases'))
      .filter((n) => !n.startsWith('.'))
      .sort()
      .at(-1)!;
    expect(r3).not.toBe(r2);
    // v3's image was built and ran (its migration, its failed start); the previous release's image runs again
    expect((await docker(['image', 'inspect', '--format', '{{.Id}}', `secretaria-app:${r3}`])).trim()).toMatch(
      /^sha256:/,
    );
    expect(current()).toBe(r2);
    expect(await runningImages('app')).toEqual([`secretaria-app:${r2}`]);
    expect(await runningImages('worker')).toEqual([`secretaria-app:${r2}`, `secretaria-app:${r2}`]);
    await waitFor(async () => expect(await healthz()).toMatchObject({ status: 200, body: { version: 'v2' } }), 60_000);
    // rollback.database: if-migrated — the snapshot, taken through the published port, is restored
    expect(await queryColumn(databaseUrl, 'SELECT version_num FROM alembic_version')).toEqual(['0002']);
    expect(await tables()).not.toContain('followups');

    // the migration's and the jobs' `compose run` containers went with their attempts
    expect((await docker(['ps', '-a', '--filter', 'name=runbook-', '--format', '{{.Names}}'])).trim()).toBe('');

    const alerts = await monitoring.waitForRequests(1);
    expect(alerts.map((a) => [a.path, (JSON.parse(a.body) as { outcome?: string }).outcome])).toContainEqual([
      '/alerts',
      'rolled_back',
    ]);
  });

  it("runbook rollback to the first release starts that release's image again", async () => {
    const r1 = readdirSync(path.join(root, 'releases'))
      .filter((n) => !n.startsWith('.'))
      .sort()[0];
    const back = await run.rollback({ to: r1 });
    expect([back.report.outcome, back.report.error]).toEqual(['succeeded', undefined]);
    expect(current()).toBe(r1);
    expect(await runningImages('app')).toEqual([`secretaria-app:${r1}`]);
    expect(await runningImages('worker')).toEqual([`secretaria-app:${r1}`, `secretaria-app:${r1}`]);
    await waitFor(async () => expect(await healthz()).toMatchObject({ status: 200, body: { version: 'v1' } }), 60_000);
  });
});
