// CLI latency: `runbook --help` and `runbook validate` beside Node's own start, and what `runbook deploy`
// adds to the workflow's own time (start, connect, watch, exit) beside what a bare SDK client script adds.
'use strict';
const path = require('node:path');
const { ROOT, median, mediansMs, elapsedMs, run, workflowMs } = require('../lib');

const RUNS = 5;
const STARTS = 15; // runs of each short command
// The program as installed (from the CLI's startup snapshot), and the same CLI run from dist/ without it.
const PROGRAM = path.join(ROOT, 'bin', 'runbook');
const FROM_DIST = { RUNBOOK_CLI_SNAPSHOT: 'off' };
const SDK_DEPLOY = path.join(__dirname, '..', 'baseline', 'sdk-deploy.js');
const node = (args, env) => run([process.execPath, ...args], { env: { ...process.env, ...env } });
const runbook = (args, env) => run([PROGRAM, ...args], { env: { ...process.env, ...env } });

module.exports = {
  name: 'cli',
  needsTemporal: true,
  async apps(workspace) {
    return { app: await workspace.addApp('cli') };
  },
  async run(env, results) {
    const example = path.join(ROOT, 'examples', 'almareia.yaml');
    const [nodeStart, help, validate, validateFromDist] = await mediansMs(STARTS, [
      async () => node(['-e', '0']),
      async () => runbook(['--help']),
      async () => runbook(['validate', example]),
      async () => runbook(['validate', example], FROM_DIST),
    ]);
    for (const [figure, value] of [
      ['runbook --help', help],
      ['runbook validate almareia.yaml', validate],
      ['runbook validate almareia.yaml, from dist/ (no snapshot)', validateFromDist],
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
    const overhead = async (version, start) => {
      app.stage(version);
      const { ms, value } = await elapsedMs(start);
      const end = JSON.parse(value);
      return ms - (await workflowMs(env.client, end.workflowId, end.runId));
    };
    const deploy = (version) => ['deploy', app.name, '--ref', version, '--json'];
    const byCli = (version) => overhead(version, async () => runbook(deploy(version), cliEnv));
    const fromDist = (version) => overhead(version, async () => runbook(deploy(version), { ...cliEnv, ...FROM_DIST }));
    const bySdk = (version) => overhead(version, async () => node([SDK_DEPLOY, app.name, version], cliEnv));
    await byCli('v0');
    await fromDist('d0');
    await bySdk('s0');
    const overheads = { cli: [], dist: [], sdk: [] };
    for (let i = 1; i <= RUNS; i++) {
      overheads.cli.push(await byCli(`v${i}`));
      overheads.dist.push(await fromDist(`d${i}`));
      overheads.sdk.push(await bySdk(`s${i}`));
    }
    for (const [figure, value] of [
      [`runbook deploy wall time − workflow time (median of ${RUNS})`, overheads.cli],
      [`the same, from dist/ (no snapshot)`, overheads.dist],
    ])
      results.add({
        figure,
        value: median(value),
        unit: 'ms',
        baseline: median(overheads.sdk),
        baselineLabel: 'bare SDK client script',
        goal: '≤ 300 ms',
      });
  },
};
