import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { historyText } from '../support/history';
import { createDatabase, sql, withClient } from '../support/postgres';
import { runOutcome } from '../support/runs';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp';
import { connectClient, startTestWorker, uniqueName, type TestWorker } from '../support/temporal';

// Prints every variable it sees, plainly and URL-encoded, and a DATABASE_URL's password alone, on one line;
// with TAIL_CUT, first a secret and just enough padding that a kept tail of TAIL_CUT characters starts in the
// middle of it. FAIL=1 exits 1 after printing.
const PRINTER = [
  'import os, sys, urllib.parse',
  'env = sorted(os.environ.items())',
  'u = urllib.parse.urlparse(os.environ.get("DATABASE_URL", ""))',
  'parts = ["PRINTED-ENV"] + [k + "=" + v for k, v in env] + [k + "~" + urllib.parse.quote(v, safe="") for k, v in env]',
  'listing = " | ".join(parts + ["password=" + urllib.parse.unquote(u.password or "")]) + "\\n"',
  'tail = int(os.environ.get("TAIL_CUT", "0"))',
  's = os.environ.get("SECRET_KEY", "")',
  'cut = s + "x" * (tail - len(s) // 2 - len(listing) - 1) + "\\n" if tail else ""',
  'sys.stdout.write(cut + listing)',
  'sys.exit(1 if os.environ.get("FAIL") == "1" else 0)',
].join('\n');

const APP_SECRETS = {
  SECRET_KEY: 'sk7Qw9Er2Ty4Ui6Op8As0Df',
  SENDGRID_API_KEY: 'SG.h3J5k7L9z1X3c5V7b9N1',
  API_TOKEN_HEADER: 'Bearer tK4mR8wQ2zY6vB1n',
};
const DB_PASSWORD = 'p@Zx9Cv8Bn7Mq';
const WORKER_SECRETS = {
  OTHER_APP_SECRET: 'oA7sD6fG5hJ4kL3',
  SMTP_PASSWORD: 'sM2tP9wQ4eR7yU1',
};
const AUDIT_PASSWORD = 'aU8dI3tP6wR1zX5';

/**
 * The secret scan: secrets in the app's env file, in URLs with passwords, in the worker's own
 * environment, and commands that print them plainly and URL-encoded. After a deploy, a backup, a job and a
 * failing deploy, the full histories, the deploy log, the audit rows and the sent mails hold none of them.
 */
describe('secret scan: no secret value reaches history, the deploy log, audit rows or mails', () => {
  let fx: AppFixture;
  let worker: TestWorker;
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let smtp: TestSmtpServer;
  let auditUrl: string;
  let appDatabaseUrl: string;

  beforeAll(async () => {
    [smtp, temporal] = await Promise.all([startSmtpServer(), connectClient()]);
    fx = await createAppFixture({ name: 'secrets' });
    const server = new URL(process.env.RUNBOOK_TEST_PG_URL as string);
    // Trust authentication accepts any password: the URLs carry real-looking ones for the scan.
    const withPassword = (url: string, password: string) => {
      const u = new URL(url);
      u.password = encodeURIComponent(password);
      return u.toString();
    };
    appDatabaseUrl = withPassword(
      await createDatabase(server.toString(), uniqueName('secrets_app').replace(/-/g, '_')),
      DB_PASSWORD,
    );
    await sql(appDatabaseUrl, 'CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1), (2)');
    auditUrl = withPassword(await createDatabase(server.toString(), uniqueName('secrets-audit')), AUDIT_PASSWORD);
    const envFile = path.join(fx.dir, 'app.env');
    writeFileSync(
      envFile,
      Object.entries({ ...APP_SECRETS, DATABASE_URL: appDatabaseUrl })
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    const printer = (extra: Record<string, string>) => ({
      name: 'print environment',
      run: ['python3', '-c', PRINTER],
      env: extra,
    });
    const health = fx.manifest.health as { checks: unknown[] };
    Object.assign(fx.manifest, {
      env: { file: envFile, required: ['DATABASE_URL'] },
      steps: { ...(fx.manifest.steps as object), build: [printer({ TAIL_CUT: '8192' })] },
      health: {
        ...health,
        checks: [
          ...health.checks,
          { name: 'home with token', http: fx.url('/'), headersEnv: { Authorization: 'API_TOKEN_HEADER' } },
        ],
      },
      backups: {
        dir: path.join(fx.dir, 'backups'),
        targets: [{ name: 'database', postgres: { urlEnv: 'DATABASE_URL' } }],
      },
      jobs: [
        { name: 'print-env', run: ['python3', '-c', PRINTER], cwd: fx.dir, env: { TAIL_CUT: '4000' }, retries: 0 },
      ],
      notify: {
        on: ['succeeded', 'failed', 'rolled_back', 'backup.succeeded', 'job.summary'],
        channels: [{ email: { via: 'smtp', to: ['oncall@shop.example'], from: 'runbook@shop.example' } }],
      },
    });
    fx.save();
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: {
        manifestsDir: fx.manifestsDir,
        databaseUrl: auditUrl,
        env: {
          ...process.env,
          ...WORKER_SECRETS,
          RUNBOOK_DATABASE_URL: auditUrl,
          RUNBOOK_PG_BIN: process.env.RUNBOOK_TEST_PG_BIN,
          SMTP_HOST: smtp.host,
          SMTP_PORT: String(smtp.port),
        },
      },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
    await smtp?.close();
  });

  /** Every secret as output could show it; the random tokens also by any 8-character piece of them. */
  function secretForms(): { whole: string[]; tokens: string[] } {
    const tokens = [...Object.values(APP_SECRETS), ...Object.values(WORKER_SECRETS), DB_PASSWORD, AUDIT_PASSWORD];
    const whole = [...tokens, appDatabaseUrl, auditUrl];
    return {
      whole: [...new Set([...whole, ...whole.map((s) => encodeURIComponent(s))])],
      tokens: tokens.map((t) => t.replace(/^Bearer /, '')),
    };
  }

  function leaks(text: string): string[] {
    const { whole, tokens } = secretForms();
    const found = whole.filter((s) => text.includes(s));
    for (const token of tokens)
      for (let i = 0; i + 8 <= token.length; i++)
        if (text.includes(token.slice(i, i + 8))) {
          found.push(`${token} (piece '${token.slice(i, i + 8)}')`);
          break;
        }
    return found;
  }

  async function start(type: string, input: Record<string, unknown>, workflowId: string) {
    const handle = await temporal.client.workflow.start(type, { taskQueue: fx.taskQueue, workflowId, args: [input] });
    return { ...(await runOutcome(temporal.client, handle.workflowId, handle.firstExecutionRunId)), handle };
  }

  it('after a deploy, a backup, a job and a failing deploy', async () => {
    fx.stage('v1');
    const deployed = await start('deploy', { app: fx.app, ref: 'v1' }, appLockWorkflowId(fx.app));
    expect(deployed.report.outcome).toBe('succeeded');
    const backedUp = await start('backup', { app: fx.app }, uniqueName('backup-secrets'));
    expect(backedUp.report.outcome).toBe('succeeded');
    const job = await start('job', { app: fx.app, job: 'print-env', date: '2025-12-01' }, uniqueName('job-secrets'));
    expect(job.report.outcome).toBe('succeeded');

    fx.stage('v2');
    const steps = fx.manifest.steps as { build: Array<{ env: Record<string, string> }> };
    steps.build[0].env.FAIL = '1';
    fx.save();
    const failed = await start('deploy', { app: fx.app, ref: 'v2' }, appLockWorkflowId(fx.app));
    expect(failed.report.outcome).toBe('rolled_back');
    await smtp.waitForMails(4);

    const runs = [deployed, backedUp, job, failed];
    const histories = await Promise.all(
      runs.map((r) => historyText(temporal.client, r.handle.workflowId, r.handle.firstExecutionRunId)),
    );
    // The printers ran and their output was kept: what is checked below is not empty.
    expect(histories[0]).toContain('PRINTED-ENV');
    expect(histories[2]).toContain('PRINTED-ENV');
    expect(histories[3]).toContain('PRINTED-ENV');
    expect(histories.join('\n')).toContain('SECRET_KEY=***');
    // The worker's own variables never reached the app's commands, not even by name.
    for (const name of ['OTHER_APP_SECRET', 'SMTP_PASSWORD', 'RUNBOOK_DATABASE_URL'])
      expect(histories.join('\n')).not.toContain(`${name}=`);

    const deployLog = readFileSync(path.join(fx.root, 'deploy_log.jsonl'), 'utf8');
    const auditRows = await withClient(auditUrl, async (db) => {
      const tables = ['runs', 'job_sessions', 'job_operations', 'notifications'];
      const rows = await Promise.all(tables.map((t) => db.query(`SELECT * FROM runbook.${t}`)));
      return JSON.stringify(rows.map((r) => r.rows));
    });
    expect(auditRows).toContain('PRINTED-ENV');
    const mails = JSON.stringify(smtp.mails.map((m) => [m.subject, m.text, m.html]));

    expect({
      histories: histories.map(leaks),
      deployLog: leaks(deployLog),
      auditRows: leaks(auditRows),
      mails: leaks(mails),
    }).toEqual({ histories: [[], [], [], []], deployLog: [], auditRows: [], mails: [] });
  }, 240_000);
});
