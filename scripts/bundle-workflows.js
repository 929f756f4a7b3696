// Bundles the compiled workflows once at build time (dist/workflow-bundle.js), as production workers should, and
// the same workflows with encoded failure messages for workers with payload encryption on.
'use strict';
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const { bundleWorkflowCode } = require('@temporalio/worker');

(async () => {
  const root = path.resolve(__dirname, '..');
  const logger = { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} };
  const workflowsPath = path.join(root, 'dist', 'workflows', 'index.js');
  const failureConverterPath = path.join(root, 'dist', 'common', 'encoded-failures.js');
  const [plain, encodedFailures] = await Promise.all([
    bundleWorkflowCode({ workflowsPath, logger }),
    bundleWorkflowCode({ workflowsPath, failureConverterPath, logger }),
  ]);
  writeFileSync(path.join(root, 'dist', 'workflow-bundle.js'), plain.code);
  writeFileSync(path.join(root, 'dist', 'workflow-bundle-encoded-failures.js'), encodedFailures.code);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
