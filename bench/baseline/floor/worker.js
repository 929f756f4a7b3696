// A worker process for the floor baseline (workflows.js): one worker for the workflow's queue and one for
// the host queue, in one process, as Runbook's worker serves both. Prints "ready" once both poll.
'use strict';
const { NativeConnection, Worker, Runtime, DefaultLogger } = require('@temporalio/worker');

async function main() {
  const [address, taskQueue, hostQueue] = process.argv.slice(2);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const workflows = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
  });
  const host = await Worker.create({ connection, taskQueue: hostQueue, activities: { noop: async (i) => i } });
  const running = Promise.all([workflows.run(), host.run()]);
  console.log('ready');
  process.once('SIGTERM', () => {
    workflows.shutdown();
    host.shutdown();
  });
  await running;
  await connection.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
