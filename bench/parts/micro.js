// In-process costs of pure work: validating manifests and planning a deploy.
'use strict';
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { ROOT, dist } = require('../lib');

function perOp(iterations, fn) {
  fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - start) / iterations;
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
  },
};
