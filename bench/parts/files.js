// Size: a 30,000-file release copied, archived and extracted by Runbook's own code beside cp -a, zip -r,
// unzip, tar -czf and tar -xzf of the same tree, each into a fresh folder, one run each.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { randomBytes } = require('node:crypto');
const { Buffer } = require('node:buffer');
const { dist, elapsedMs, run } = require('../lib');

const FILES = Number(process.env.RUNBOOK_BENCH_FILES || 30_000);
const PER_FOLDER = 300;

/** A release-like tree: folders of 300 files of 1-8 KiB (half random bytes, half text), a few links. */
function makeTree(dir) {
  for (let i = 0; i < FILES; i++) {
    const folder = path.join(dir, `pkg-${Math.floor(i / PER_FOLDER)}`, i % 2 ? 'lib' : 'src');
    if (i % PER_FOLDER < 2) fs.mkdirSync(folder, { recursive: true });
    const size = 1024 + ((i * 7919) % 7168);
    const text = Buffer.from(`module ${i}\n`.repeat(Math.ceil(size / 2 / 12))).subarray(0, size / 2);
    fs.writeFileSync(path.join(folder, `file-${i}.js`), Buffer.concat([text, randomBytes(size - text.length)]));
  }
  fs.symlinkSync('pkg-0', path.join(dir, 'current-pkg'));
}

module.exports = {
  name: 'files',
  needsTemporal: false,
  async run(env, results) {
    const { copyTree } = dist('activities/files.js');
    const { createArchive, extractArchive } = dist('activities/archive.js');
    const dir = path.join(env.workspace.dir, 'files');
    const tree = path.join(dir, 'release');
    const out = (name) => path.join(dir, name);
    makeTree(tree);
    run(['sync']);
    const label = `${FILES.toLocaleString('en')}-file release`;
    // Each side starts with nothing left to write back: otherwise the second pays for the first's dirty pages.
    const compare = async (figure, baselineLabel, baseline, runbook) => {
      run(['sync']);
      const base = await elapsedMs(async () => baseline());
      run(['sync']);
      const ours = await elapsedMs(runbook);
      results.add({ figure, value: ours.ms, unit: 'ms', baseline: base.ms, baselineLabel, goal: '≤ 1.5×' });
    };
    run(['cp', '-a', tree, out('warm')]); // the source tree in the page cache for both sides
    await compare(
      `copy a ${label} (copyTree)`,
      'cp -a',
      () => run(['cp', '-a', tree, out('cp')]),
      () => copyTree(tree, out('copy')),
    );
    await compare(
      `archive it as zip (createArchive)`,
      'zip -qr',
      () => run(['zip', '-qry', out('baseline.zip'), '.'], { cwd: tree }),
      () => createArchive({ format: 'zip', sources: [tree], baseDir: tree, outFile: out('runbook.zip') }),
    );
    await compare(
      `restore it from zip (extractArchive)`,
      'unzip -q',
      () => run(['unzip', '-q', out('baseline.zip'), '-d', out('unzipped')]),
      () => extractArchive({ file: out('runbook.zip'), format: 'zip', targetDir: out('extracted-zip') }),
    );
    await compare(
      `archive it as tar.gz (createArchive)`,
      'tar -czf',
      () => run(['tar', '-czf', out('baseline.tar.gz'), '-C', tree, '.']),
      () => createArchive({ format: 'tar.gz', sources: [tree], baseDir: tree, outFile: out('runbook.tar.gz') }),
    );
    await compare(
      `restore it from tar.gz (extractArchive)`,
      'tar -xzf',
      () => {
        fs.mkdirSync(out('untarred'));
        run(['tar', '-xzf', out('baseline.tar.gz'), '-C', out('untarred')]);
      },
      () => extractArchive({ file: out('runbook.tar.gz'), format: 'tar.gz', targetDir: out('extracted-tar') }),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  },
};
