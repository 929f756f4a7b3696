// CLI latency: `runbook --help` and `runbook validate` beside Node's own start, and what `runbook deploy`
// adds to the workflow's own time (start, connect, watch, exit) beside what a bare SDK client script adds.
'use strict';
const path = require('node:path');
const { ROOT, median, medianMs, elapsedMs, run, workflowMs } = require('../lib');

const RUNS = 5;
const CLI = path.join(ROOT, 'bin', 'runbook.js');
const SDK_DEPLOY = path.join(__dirname, '..', 'baseline', 'sdk-deploy.js');
const node = (args, env) => run([process.execPath, ...args], { env: { ...process.env, ...env } });

module.exports = {
  name: 'cli',
  needsTemporal: true,
  async apps(workspace) {
    return { app: await workspace.addApp('cli') };
  },
  async run(env, results) {
    const nodeStart = await medianMs(RUNS, async () => node(['-e', '0']));
    const help = await medianMs(RUNS, async () => node([CLI, '--help']));
    const example = path.join(ROOT, 'examples', 'almareia.yaml');
    const validate = await medianMs(RUNS, async () => node([CLI, 'validate', example]));
    for (const [figure, value] of [
      ['runbook --help', help],
      ['runbook validate almareia.yaml', validate],
    ])
      results.add({ figure, value, unit: 'ms', baseline: nodeStart, baselineLabel: 'node -e 0', goal: '≤ 300 ms' });

    const { app } = env.apps;
    const cliEnv = {
      TEMPORAL_ADDRESS: env.address,
      RUNBOOK_TASK_QUEUE: env.taskQueue,
      RUNBOOK_MANIFESTS: env.workspace.manifestsDir,
      NO_COLOR: '1',
    };
    // Wall time − the workflow's own time of a program that runs a deploy and exits after its end.
    const overhead = async (version, argv) => {
      app.stage(version);
      const { ms, value } = await elapsedMs(async () => node(argv, cliEnv));
      const end = JSON.parse(value);
      return ms - (await workflowMs(env.client, end.workflowId, end.runId));
    };
    const byCli = (version) => overhead(version, [CLI, 'deploy', app.name, '--ref', version, '--json']);
    const bySdk = (version) => overhead(version, [SDK_DEPLOY, app.name, version]);
    await byCli('v0');
    await bySdk('s0');
    const overheads = { cli: [], sdk: [] };
    for (let i = 1; i <= RUNS; i++) {
      overheads.cli.push(await byCli(`v${i}`));
      overheads.sdk.push(await bySdk(`s${i}`));
    }
    results.add({
      figure: `runbook deploy wall time − workflow time (median of ${RUNS})`,
      value: median(overheads.cli),
      unit: 'ms',
      baseline: median(overheads.sdk),
      baselineLabel: 'bare SDK client script',
      goal: '≤ 300 ms',
    });
  },
};
