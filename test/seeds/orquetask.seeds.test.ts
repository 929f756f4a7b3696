import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/devserver/ports';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { createDatabase, queryColumn, waitFor } from '../support/postgres';
import { createGitRepo, type GitRepo } from '../support/seed-apps/git-repo';
import { orquetaskFiles, orquetaskUnit, readWheel } from '../support/seed-apps/orquetask';
import { rewriteExample, startSeedRun, type SeedRun } from '../support/seed-apps/seed-run';
import { writeStandinWheel } from '../support/seed-apps/wheel';
import { seedMachine, seedScratchDir } from '../support/seed-services';
import { connectClient, uniqueName } from '../support/temporal';

/*
 * Seed 000, OrqueTask: examples/orquetask.yaml deployed as written (paths, host, port and repository
 * rewritten for this machine) by a worker on a real systemd server, from git, with the guide's shared
 * .env, venv + pip install, `flask db upgrade`, the optional seed, Gunicorn as a systemd unit, a database
 * snapshot restored when a migrated release is rolled back, and the failure mail through SendGrid.
 */
jest.setTimeout(300_000);

describe('OrqueTask (seed 000) under a real systemd', () => {
  const machine = seedMachine();
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let dir: string;
  let root: string;
  let repo: GitRepo;
  let wheel: Buffer;
  let port: number;
  let databaseUrl: string;
  let sendgrid: HttpRecorder;
  let run: SeedRun;

  const serving = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) });
    return (await response.json()) as { version: string; processos: number; tables: string[]; email_from: string };
  };
  const current = () => path.basename(readlinkSync(path.join(root, 'current')));
  const release = (id: string) => path.join(root, 'releases', id);

  beforeAll(async () => {
    temporal = await connectClient();
    dir = seedScratchDir(uniqueName('orquetask'));
    root = path.join(dir, 'srv', 'orquetask');
    repo = createGitRepo(path.join(dir, 'repo'));
    wheel = readWheel(await writeStandinWheel(dir));
    port = await freePort();
    databaseUrl = await createDatabase(process.env.RUNBOOK_TEST_PG_URL!, uniqueName('orquetask').replace(/-/g, '_'));
    sendgrid = await startHttpRecorder(() => ({ status: 202, headers: { 'X-Message-Id': 'sg-1' } }));

    // What the guide has the operator do once on the server: the .env, and a systemd unit for Gunicorn.
    mkdirSync(path.join(root, 'shared'), { recursive: true });
    writeFileSync(
      path.join(root, 'shared', '.env'),
      [
        'SENDGRID_API_KEY=SG.seed-test-key-0123456789',
        'EMAIL_FROM=notificacoes@orquetask.example',
        'SECRET_KEY=3f9c0a5e7b1d4c2a',
        `DATABASE_URI=${databaseUrl}`,
        'NOTIFICATION_RECIPIENTS=ops@orquetask.example,cto@orquetask.example',
        'FLASK_APP=app.py',
        'FLASK_DEBUG=0',
        '',
      ].join('\n'),
    );
    await machine.writeFile('/etc/systemd/system/orquetask-gunicorn.service', orquetaskUnit(root, port));
    await machine.systemctl('daemon-reload');

    const host = uniqueName('app');
    run = await startSeedRun({
      client: temporal.client,
      app: 'orquetask',
      host,
      dir,
      machine,
      env: { RUNBOOK_SENDGRID_API_URL: sendgrid.url },
      manifestText: rewriteExample('orquetask', [
        ['host: app-1', `host: ${host}`],
        ['/srv/orquetask', root],
        ['git@git.example.com:equipe/repositorio_equipe.git', repo.url],
        ['http://127.0.0.1:8000/', `http://127.0.0.1:${port}/`],
      ]),
    });
  });
  afterAll(async () => {
    await run?.stop();
    await machine.exec(['systemctl', 'stop', 'orquetask-gunicorn']);
    await sendgrid?.close();
    await temporal?.close();
  });

  it('deploys v1 from git with the seed, Gunicorn under systemd reading the shared .env', async () => {
    repo.commit(orquetaskFiles({ version: 'v1', migrations: 1 }, wheel), 'OrqueTask v1', 'v1');
    const first = await run.deploy({ ref: 'v1', seed: true });
    expect([first.report.outcome, first.report.error]).toEqual(['succeeded', undefined]);

    expect(await serving()).toMatchObject({
      version: 'v1',
      processos: 1,
      email_from: 'notificacoes@orquetask.example',
    });
    expect((await machine.exec(['systemctl', 'is-active', 'orquetask-gunicorn'])).stdout.trim()).toBe('active');
    // the release links the shared .env: the flask CLI read DATABASE_URI from it
    const link = path.join(release(current()), '.env');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(path.join(root, 'shared', '.env'));
    expect(await queryColumn(databaseUrl, 'SELECT version_num FROM alembic_version')).toEqual(['0001']);
  });

  it('deploys v2: its migration runs, the new release serves, v1 stays as the way back', async () => {
    const v1 = current();
    repo.commit(orquetaskFiles({ version: 'v2', migrations: 2 }, wheel), 'OrqueTask v2: etapas', 'v2');
    const second = await run.deploy({ ref: 'v2' });
    expect([second.report.outcome, second.report.error]).toEqual(['succeeded', undefined]);
    expect(await serving()).toMatchObject({
      version: 'v2',
      processos: 1,
      tables: ['alembic_version', 'etapas', 'processos'],
    });
    expect(current()).not.toBe(v1);
    expect(readdirSync(path.join(root, 'releases')).filter((n) => !n.startsWith('.'))).toHaveLength(2);
  });

  it('rolls back a release that breaks on import: v2 serves again, its database as before, mail to the recipients', async () => {
    const v2 = current();
    const snapshotBefore = existsSync(path.join(root, '.runbook', 'snapshots'))
      ? readdirSync(path.join(root, '.runbook', 'snapshots')).length
      : 0;
    repo.commit(orquetaskFiles({ version: 'v3', migrations: 3, brokenImport: true }, wheel), 'OrqueTask v3', 'v3');
    const broken = await run.deploy({ ref: 'v3' });
    expect([broken.report.outcome, broken.report.error]).toEqual([
      'rolled_back',
      expect.stringMatching(/^gunicorn answers .* failed after/),
    ]);
    expect(current()).toBe(v2);
    await waitFor(async () => expect((await serving()).version).toBe('v2'), 30_000);
    // rollback.database: if-migrated — v3's migration ran, so the snapshot taken before it was restored
    expect(readdirSync(path.join(root, '.runbook', 'snapshots')).length).toBe(snapshotBefore + 1);
    expect((await serving()).tables).toEqual(['alembic_version', 'etapas', 'processos']);
    expect(await queryColumn(databaseUrl, 'SELECT version_num FROM alembic_version')).toEqual(['0002']);

    const [mail] = await sendgrid.waitForRequests(1);
    const body = JSON.parse(mail.body) as {
      personalizations: Array<{ to: Array<{ email: string }> }>;
      subject: string;
    };
    expect(body.personalizations[0].to.map((t) => t.email)).toEqual(['ops@orquetask.example', 'cto@orquetask.example']);
    expect(mail.headers.authorization).toBe('Bearer SG.seed-test-key-0123456789');
  });
});
