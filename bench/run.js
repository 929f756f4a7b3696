// Benchmarks: timings are printed, never asserted. `npm run bench` (after `npm run build`).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { performance } = require('node:perf_hooks');

const dist = (p) => require(path.join(__dirname, '..', 'dist', p));

function measure(label, iterations, fn) {
  fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const ms = performance.now() - start;
  console.log(`${label.padEnd(48)} ${(ms / iterations).toFixed(3).padStart(9)} ms/op  (${iterations} runs)`);
}

async function deployTimings() {
  const { startDevServer } = dist('devserver/dev-server.js');
  const { freePort } = dist('devserver/ports.js');
  const { createWorkers } = dist('workers/worker.js');
  const { activityConfigFromEnv } = dist('activities/index.js');
  const { appLockWorkflowId } = dist('common/contracts.js');
  const { NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
  const { Client } = require('@temporalio/client');
  const { stringify } = require('yaml');
  Runtime.install({ logger: new DefaultLogger('WARN') });

  const server = await startDevServer();
  const { demoManifest, stageDemoApp, stopAppProcesses } = dist('devserver/demo-app.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-bench-'));
  const port = await freePort();
  const app = 'bench';
  const root = path.join(dir, 'srv');
  const staging = path.join(dir, 'staging');
  const apps = path.join(dir, 'apps');
  fs.mkdirSync(apps);
  const stage = (version, behavior) => stageDemoApp(staging, version, { behavior });
  fs.writeFileSync(
    path.join(apps, `${app}.yaml`),
    stringify(demoManifest({ app, host: 'bench-host', root, staging, port, within: '10s' })),
  );
  const connection = await NativeConnection.connect({ address: server.address });
  const workers = await createWorkers({
    connection,
    namespace: 'default',
    hosts: ['bench-host'],
    orchestrate: true,
    taskQueue: 'bench',
    activities: { ...activityConfigFromEnv(), manifestsDir: apps },
  });
  const running = Promise.all(workers.map((w) => w.run()));
  const client = new Client({ connection: server.env.connection });
  const deploy = async (version, behavior) => {
    stage(version, behavior);
    const start = performance.now();
    const handle = await client.workflow.start('deploy', {
      taskQueue: 'bench',
      workflowId: appLockWorkflowId(app),
      args: [{ app, ref: version }],
    });
    const outcome = await handle.result().then(
      () => 'succeeded',
      () => 'rolled_back',
    );
    return { ms: performance.now() - start, outcome };
  };
  try {
    const results = [];
    for (let i = 1; i <= 3; i++) results.push(['deploy (good release)', await deploy(`v${i}`, 'ok')]);
    results.push(['deploy + automatic rollback (exits on start)', await deploy('v-crash', 'crash')]);
    for (const [label, { ms, outcome }] of results)
      console.log(`${label.padEnd(48)} ${ms.toFixed(0).padStart(9)} ms     (${outcome})`);
  } finally {
    for (const w of workers) w.shutdown();
    await running;
    await connection.close();
    stopAppProcesses(root, 'releases', 'SIGKILL');
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  const { loadManifestFile } = dist('manifest/load.js');
  const { planDeploy } = dist('common/deploy-plan.js');
  const examples = ['almareia', 'orquetask', 'flowlog', 'financial-etl', 'secretaria'].map((n) =>
    path.join(__dirname, '..', 'examples', `${n}.yaml`),
  );
  measure('validate the five example manifests', 200, () => examples.forEach((f) => loadManifestFile(f)));
  const orquetask = loadManifestFile(examples[1]).manifest;
  measure('plan an OrqueTask deploy', 5000, () => planDeploy(orquetask, { app: 'orquetask', ref: 'main' }));
  if (!process.argv.includes('--quick')) await deployTimings();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
