// Replays recorded workflow histories (Temporal CLI JSON) against the built workflow bundle and prints one
// JSON line per history: {"file", "ok", "error"?}. Exit 1 if any does not replay. Usage:
//   node scripts/replay-histories.js test/fixtures/histories
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Worker, Runtime, DefaultLogger } = require('@temporalio/worker');
const { historyFromJSON } = require('@temporalio/common/lib/proto-utils');

(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'test', 'fixtures', 'histories'));
  const bundle = process.env.RUNBOOK_WORKFLOW_BUNDLE ?? path.join(__dirname, '..', 'dist', 'workflow-bundle.js');
  let failed = 0;
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    // Workflows may check their own id (deploy's per-app lock), so replay under the recorded one.
    const workflowId = history.events[0].workflowExecutionStartedEventAttributes.workflowId || file;
    try {
      await Worker.runReplayHistory({ workflowBundle: { codePath: bundle } }, history, workflowId);
      console.log(JSON.stringify({ file, ok: true }));
    } catch (error) {
      failed += 1;
      console.log(JSON.stringify({ file, ok: false, error: String(error && error.message ? error.message : error) }));
    }
  }
  process.exit(failed ? 1 : 0);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
