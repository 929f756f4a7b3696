import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { appLockWorkflowId } from '../../src/common/names';
import {
  countLines,
  runKillMatrix,
  useKillMatrixSuite,
  type DeployAppRun,
  type Scenario,
} from '../support/kill-matrix';

jest.setTimeout(1_200_000);

// The kill matrix of a deploy: killed after every activity and in the middle of every long one, a deploy
// still ends as it would have, with one release or archive, one install, one log line, one audit row and
// one notification, and nothing left behind.
describe('kill matrix: deploy', () => {
  const suite = useKillMatrixSuite('killaudit');

  function deployScenario(strategy: 'releases' | 'in-place'): Scenario<DeployAppRun> {
    return {
      name: `deploy (${strategy})`,
      async prepare() {
        const run = await suite.deployApp(strategy, `kill-${strategy}`);
        run.fx.stage('v1');
        return run;
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
          installs: countLines(run.counter),
          ...(await suite.recorded(run, deployLog, report.workflowId)),
        };
      },
    };
  }

  for (const strategy of ['releases', 'in-place'] as const)
    it(`${strategy}: every kill ends as the undisturbed run did, every side effect once, nothing left behind`, async () => {
      const matrix = await runKillMatrix(suite.client, deployScenario(strategy), {
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
