import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/names';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { startHttpRecorder, type HttpRecorder } from '../support/http-recorder';
import { runKillMatrix, type ScenarioRun, type Scenario } from '../support/kill-matrix';
import { createDatabase, queryColumn } from '../support/postgres';
import { connectClient, uniqueName } from '../support/temporal';

jest.setTimeout(1_200_000);

interface DeployRun extends ScenarioRun {
  fx: AppFixture;
  hook: HttpRecorder;
  counter: string;
}

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0;

// The kill matrix of a deploy: killed after every activity and in the middle of every long one, a deploy
// still ends as it would have, with one release or archive, one install, one log line, one audit row and
// one notification, and nothing left behind.
describe('kill matrix: deploy', () => {
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  let auditUrl: string;

  beforeAll(async () => {
    temporal = await connectClient();
    auditUrl = await createDatabase(
      process.env.RUNBOOK_TEST_PG_URL as string,
      uniqueName('killaudit').replace(/-/g, '_'),
    );
  });
  afterAll(async () => temporal?.close());

  function deployScenario(strategy: 'releases' | 'in-place'): Scenario<DeployRun> {
    return {
      name: `deploy (${strategy})`,
      async prepare() {
        const fx = await createAppFixture({ strategy, name: `kill-${strategy}` });
        const hook = await startHttpRecorder(() => ({ status: 200 }));
        fx.manifest.notify = {
          on: ['succeeded', 'rolled_back', 'failed'],
          channels: [{ webhook: { urlEnv: 'KILL_WEBHOOK_URL', format: 'json' } }],
        };
        fx.save();
        fx.stage('v1');
        const counter = path.join(fx.dir, 'installs.txt');
        return {
          fx,
          hook,
          counter,
          dir: fx.dir,
          taskQueue: fx.taskQueue,
          hosts: [fx.host],
          manifestsDir: fx.manifestsDir,
          env: { INSTALL_COUNTER: counter, KILL_WEBHOOK_URL: `${hook.url}/hooks`, RUNBOOK_DATABASE_URL: auditUrl },
          async cleanup() {
            await hook.close();
            await fx.cleanup();
          },
        };
      },
      workflowId: (run) => appLockWorkflowId(run.fx.app),
      async start(client, run, workflowId) {
        await client.workflow.start('deploy', {
          taskQueue: run.taskQueue,
          workflowId,
          args: [{ app: run.fx.app, ref: 'v1' }],
        });
      },
      async effects(run, report) {
        const { fx } = run;
        const stateDir = strategy === 'in-place' ? `${fx.root}.runbook` : path.join(fx.root, '.runbook');
        const deployLog =
          strategy === 'in-place' ? path.join(stateDir, 'deploy_log.jsonl') : path.join(fx.root, 'deploy_log.jsonl');
        return {
          serving: await fx.serving(),
          releases:
            strategy === 'releases'
              ? readdirSync(path.join(fx.root, 'releases')).filter((n) => !n.startsWith('.')).length
              : undefined,
          archives: existsSync(path.join(stateDir, 'archives'))
            ? readdirSync(path.join(stateDir, 'archives')).length
            : 0,
          installs: lines(run.counter),
          deployLogLines: lines(deployLog),
          auditRows: (
            await queryColumn(
              auditUrl,
              `SELECT count(*)::int FROM runbook.runs WHERE workflow_id = '${report.workflowId}'`,
            )
          )[0],
          notifications: run.hook.requests.length,
        };
      },
    };
  }

  for (const strategy of ['releases', 'in-place'] as const)
    it(`${strategy}: every kill ends as the undisturbed run did, every side effect once, nothing left behind`, async () => {
      const matrix = await runKillMatrix(temporal.client, deployScenario(strategy), {
        limit: 3,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      expect(matrix.baseline.effects).toMatchObject({
        serving: 'v1',
        installs: 1,
        deployLogLines: 1,
        auditRows: 1,
        notifications: 1,
      });
      expect(matrix.failures).toEqual([]);
    });
});
