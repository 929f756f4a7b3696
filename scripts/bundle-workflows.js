// Bundles the compiled workflows once at build time (dist/workflow-bundle.js), as production workers should.
'use strict';
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const { bundleWorkflowCode } = require('@temporalio/worker');

(async () => {
  const root = path.resolve(__dirname, '..');
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(root, 'dist', 'workflows', 'index.js'),
    logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
  });
  writeFileSync(path.join(root, 'dist', 'workflow-bundle.js'), code);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
