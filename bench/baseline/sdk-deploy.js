// The least a Node program pays to run a deploy on Temporal: load the SDK's client, connect, start the workflow,
// wait for its result, exit. `runbook deploy` adds its own work (manifest checks, progress view) to this.
// Usage: node sdk-deploy.js <app> <ref>  (TEMPORAL_ADDRESS, RUNBOOK_TASK_QUEUE from the environment)
'use strict';
const { Client, Connection } = require('@temporalio/client');

async function main([app, ref]) {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection });
    const workflowId = `deploy-${app}`;
    const handle = await client.workflow.start('deploy', {
      taskQueue: process.env.RUNBOOK_TASK_QUEUE,
      workflowId,
      args: [{ app, ref }],
    });
    await handle.result();
    process.stdout.write(JSON.stringify({ workflowId, runId: handle.firstExecutionRunId }));
  } finally {
    await connection.close();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
