// Builds the CLI's V8 startup snapshot (dist/cli/runbook.blob) after `tsc`: bundles src/cli/snapshot.ts's output
// with everything the CLI's commands import (a snapshot's entry may require only Node's own modules), runs it
// with `node --build-snapshot`, and stamps the blob with the Node and the checkout that built it (bin/runbook
// starts from it only in that checkout, with that Node, and while the blob is newer than the build and install).
'use strict';
const { spawnSync } = require('node:child_process');
const { realpathSync } = require('node:fs');
const { readFile, rm, writeFile } = require('node:fs/promises');
const path = require('node:path');
const esbuild = require('esbuild');

const root = realpathSync(path.resolve(__dirname, '..'));
const dist = path.join(root, 'dist');
const blob = path.join(dist, 'cli', 'runbook.blob');
const bundle = path.join(dist, 'cli', 'snapshot-bundle.js');

// Modules that start local processes (workers, the dev server): their commands run from dist/ itself.
const LOCAL_PROCESS_CODE = new RegExp(
  `^${dist}/(workers|devserver|activities)/|/node_modules/@temporalio/(worker|testing)/`,
);

/** Leaves the local-process code out of the bundle, required from its place in dist/ if ever reached. */
const leaveOutLocalProcessCode = {
  name: 'leave-out-local-process-code',
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'resolving' || args.kind === 'entry-point') return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: 'resolving',
      });
      if (resolved.errors.length > 0 || !LOCAL_PROCESS_CODE.test(resolved.path)) return undefined;
      return { path: resolved.path, external: true };
    });
  },
};

/**
 * Each bundled module keeps its own __dirname, __filename and require.resolve, as when it is loaded from its
 * file (resolving at run time: the builder's `require` has no resolve).
 */
const ownDirname = {
  name: 'own-dirname',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b|\brequire\.resolve\(/.test(source)) return undefined;
      const names =
        `var __dirname = ${JSON.stringify(path.dirname(args.path))}, __filename = ${JSON.stringify(args.path)}, ` +
        `__resolve = (id, options) => require('node:module').createRequire(__filename).resolve(id, options);`;
      return { contents: `${names}\n${source.replace(/\brequire\.resolve\(/g, '__resolve(')}`, loader: 'js' };
    });
  },
};

/** The bundle's `require`: the builder's while building, then one of a module at the bundle's place. */
function runtimeRequire(builderRequire, bundlePath) {
  const { startupSnapshot } = builderRequire('node:v8');
  let real;
  const current = () =>
    startupSnapshot.isBuildingSnapshot()
      ? builderRequire
      : (real ??= builderRequire('node:module').createRequire(bundlePath));
  return Object.assign((id) => current()(id), { resolve: (id, options) => current().resolve(id, options) });
}

async function main() {
  for (const file of [blob, `${blob}.stamp`]) await rm(file, { force: true });
  await esbuild.build({
    entryPoints: [path.join(dist, 'cli', 'snapshot.js')],
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'cjs',
    outfile: bundle,
    logLevel: 'warning',
    plugins: [leaveOutLocalProcessCode, ownDirname],
    minifyWhitespace: true, // a smaller source is a smaller snapshot to load on every start
    // The snapshot builder's `require` knows only Node's own modules; once the snapshot runs, a real one takes
    // over (for what the bundle leaves out, and for paths such as a payload codec's failure converter).
    // The entry's own `exports` (tsc's output sets some), which the snapshot builder does not define.
    banner: { js: '(function (require, exports) {' },
    footer: { js: `})((${runtimeRequire})(require, ${JSON.stringify(bundle)}), {});` },
  });
  const built = spawnSync(process.execPath, ['--no-warnings', '--snapshot-blob', blob, '--build-snapshot', bundle], {
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error(`node --build-snapshot exited ${built.status ?? built.signal}`);
  await writeFile(`${blob}.stamp`, `${process.version} ${root}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
