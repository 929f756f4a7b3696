// In-process costs: validating manifests, planning a deploy, and what containment adds to every command.
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { ROOT, dist } = require('../lib');

function perOp(iterations, fn) {
  fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - start) / iterations;
}

/** What containment adds to every command Runbook runs: a cgroup (or marker), the join, the leftover check. */
async function commandCosts(results) {
  const { runCommand } = dist('activities/shell.js');
  const iterations = 200;
  const perCommand = async (fn) => {
    await fn();
    const start = performance.now();
    for (let i = 0; i < iterations; i++) await fn();
    return (performance.now() - start) / iterations;
  };
  const bare = await perCommand(async () => spawnSync('true'));
  const add = (figure, value) =>
    results.add({ figure, value, unit: 'ms', baseline: bare, baselineLabel: 'spawn `true` bare' });
  add('runCommand `true` (cgroup where the host has one)', await perCommand(() => runCommand({ argv: ['true'] })));
  process.env.RUNBOOK_CONTAINMENT = 'process-group';
  try {
    add('runCommand `true` (process group + /proc scan)', await perCommand(() => runCommand({ argv: ['true'] })));
  } finally {
    delete process.env.RUNBOOK_CONTAINMENT;
  }
}

module.exports = {
  name: 'micro',
  needsTemporal: false,
  async run(_env, results) {
    const { loadManifestFile } = dist('manifest/load.js');
    const { planDeploy } = dist('common/deploy-plan.js');
    const examples = ['almareia', 'orquetask', 'flowlog', 'financial-etl', 'secretaria'].map((n) =>
      path.join(ROOT, 'examples', `${n}.yaml`),
    );
    const validate = perOp(200, () => examples.forEach((f) => loadManifestFile(f)));
    results.add({ figure: 'validate the five example manifests (in process)', value: validate, unit: 'ms' });
    const orquetask = loadManifestFile(examples[1]).manifest;
    const plan = perOp(5000, () => planDeploy(orquetask, { app: 'orquetask', ref: 'main' }));
    results.add({ figure: 'plan an OrqueTask deploy (in process)', value: plan, unit: 'ms' });
    await commandCosts(results);
  },
};
