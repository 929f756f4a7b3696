import { rmSync } from 'node:fs';
import path from 'node:path';
import { jobWorkflowId } from '../../src/common/names';
import { startHttpRecorder } from '../support/http-recorder';
import { createJobApp, type JobApp } from '../support/job-app';
import {
  countLines,
  runKillMatrix,
  useKillMatrixSuite,
  type NotifyingRun,
  type Scenario,
} from '../support/kill-matrix';
import { queryColumn } from '../support/postgres';
import { uniqueName } from '../support/temporal';

jest.setTimeout(1_200_000);

interface JobRun extends NotifyingRun {
  app: JobApp;
}

const JOB = 'daily-processor';
const DATES = ['2025-12-01', '2025-12-02', '2025-12-03'];

// The kill matrix of a job over a range of dates: killed after every activity, each date's command still
// runs exactly once, and the session, its operations and the summary are recorded and sent once.
describe('kill matrix: job range', () => {
  const suite = useKillMatrixSuite('killaudit');

  const scenario: Scenario<JobRun> = {
    name: 'job range',
    async prepare() {
      const hook = await startHttpRecorder(() => ({ status: 200 }));
      const app = createJobApp({
        app: uniqueName('killjob'),
        host: uniqueName('host'),
        notify: suite.notify(['job.summary']),
        // One date at a time, so that a kill after one activity is a boundary: with two dates in flight it
        // would be the middle of the other date, whose interrupted command rightly runs again on the retry.
        job: { concurrency: 1 },
      });
      return {
        app,
        hook,
        dir: app.dir,
        taskQueue: uniqueName('killjob-q'),
        hosts: [app.host],
        manifestsDir: app.manifestsDir,
        env: suite.recordingEnv(hook),
        async cleanup() {
          await hook.close();
          rmSync(app.dir, { recursive: true, force: true });
        },
      };
    },
    workflowId: (run) => jobWorkflowId(run.app.app, JOB, 'kill'),
    async start(client, run, workflowId) {
      await client.workflow.start('job', {
        taskQueue: run.taskQueue,
        workflowId,
        args: [{ app: run.app.app, job: JOB, from: DATES[0], to: DATES[2], mode: 'auto' }],
      });
    },
    async effects(run, report) {
      const log = path.join(run.app.dir, 'deploy_log.jsonl');
      const count = async (table: string) =>
        (
          await queryColumn(
            suite.auditUrl,
            `SELECT count(*)::int FROM runbook.${table} WHERE ${table === 'job_operations' ? 'session_id IN (SELECT id FROM runbook.job_sessions WHERE workflow_id' : 'workflow_id'} = '${report.workflowId}'${table === 'job_operations' ? ')' : ''}`,
          )
        )[0];
      return {
        commandRuns: run.app
          .invocations()
          .map((argv) => argv[argv.indexOf('--data-inicio') + 1])
          .sort(),
        sessions: await count('job_sessions'),
        operations: await count('job_operations'),
        runs: await count('runs'),
        deployLogLines: countLines(log),
        notifications: run.hook.requests.length,
      };
    },
  };

  it('every kill ends as the undisturbed run did: each date run once, every record and summary once', async () => {
    const matrix = await runKillMatrix(suite.client, scenario, {
      limit: 3,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    expect(matrix.baseline.outcome).toBe('succeeded');
    expect(matrix.baseline.effects).toMatchObject({ commandRuns: DATES, sessions: 1, operations: 3, notifications: 1 });
    expect(matrix.failures).toEqual([]);
  });
});
