// Benchmarks: `npm run bench` (after `npm run build`) prints one table of figures beside their baselines
// from the same run and writes it as JSON under .artifacts/bench/. Timings are printed, never asserted.
// Parts run alone with `npm run bench -- <part>...`; `npm run bench -- --list` names them. A part's own flags
// follow the parts: `npm run bench -- scale --deploys 20 --jobs 50`.
'use strict';
const { Workspace } = require('./apps');
const { Results, loadAverage, startTemporal, stopTemporal, startWorker } = require('./lib');

const PARTS = ['micro', 'cli', 'deploy', 'step-path', 'files', 'pg', 'scale'].map((name) => require(`./parts/${name}`));

/** Splits the arguments into part names and `--flag value` pairs a selected part takes. */
function parseArgs(args) {
  const names = [];
  const flags = {};
  for (let i = 0; i < args.length; i++) {
    const flag = /^--(.+)$/.exec(args[i]);
    if (!flag) names.push(args[i]);
    else if (!PARTS.some((p) => p.flags?.includes(flag[1])))
      throw new Error(`unknown flag ${args[i]}; flags: ${PARTS.flatMap((p) => (p.flags ?? []).map((f) => `--${f}`))}`);
    else if (i + 1 >= args.length) throw new Error(`${args[i]} needs a value`);
    else flags[flag[1]] = args[++i];
  }
  return { names, flags };
}

async function main(args) {
  if (args.includes('--list')) {
    for (const part of PARTS)
      console.log(`${part.name}${part.flags ? ` ${part.flags.map((f) => `[--${f} N]`).join(' ')}` : ''}`);
    return;
  }
  const { names: argv, flags } = parseArgs(args);
  const unknown = argv.filter((a) => !PARTS.some((p) => p.name === a));
  if (unknown.length > 0) throw new Error(`unknown part(s) ${unknown.join(', ')}; parts: ${PARTS.map((p) => p.name)}`);
  const selected = argv.length > 0 ? PARTS.filter((p) => argv.includes(p.name)) : PARTS;
  const startedAt = new Date().toISOString();
  const loadBefore = loadAverage();
  console.log(`bench: ${selected.map((p) => p.name).join(', ')}; load average ${loadBefore.join(' ')}`);

  const results = new Results();
  const workspace = new Workspace();
  const env = { workspace, taskQueue: 'bench', apps: {}, flags };
  let worker;
  try {
    const withTemporal = selected.filter((p) => p.needsTemporal);
    if (withTemporal.length > 0) {
      const temporal = await startTemporal();
      Object.assign(env, { client: temporal.client, address: temporal.address, serverPid: temporal.serverPid });
      const apps = {};
      for (const part of withTemporal) apps[part.name] = part.apps ? await part.apps(workspace) : {};
      // A part with its own worker (its own settings and task queue) needs none of the shared one.
      if (withTemporal.some((p) => !p.ownWorker))
        worker = await startWorker({
          address: temporal.address,
          taskQueue: env.taskQueue,
          hosts: ['bench-host'],
          manifestsDir: workspace.manifestsDir,
        });
      env.workerPid = worker?.pid;
      env.appsByPart = apps;
    }
    for (const part of selected) {
      console.log(`\n${part.name}`);
      await part.run({ ...env, apps: env.appsByPart?.[part.name] ?? {} }, results);
    }
  } finally {
    await worker?.stop();
    await workspace.cleanup();
    await stopTemporal();
  }
  results.print();
  const file = results.write(
    selected.map((p) => p.name),
    startedAt,
    loadBefore,
  );
  console.log(`\nload average before ${loadBefore.join(' ')}, after ${loadAverage().join(' ')}; written to ${file}`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
