// Size: a PostgreSQL database of at least 1 GiB (RUNBOOK_BENCH_PG_MB) backed up by Runbook's dumpDatabase
// (custom format, hashed while it streams) beside a bare `pg_dump -Fc -f` of the same database; verifying
// the backup (its checksum, then pg_restore reading every block back) is its own line.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawn, spawnSync } = require('node:child_process');
const { setTimeout } = require('node:timers/promises');
const { dist, elapsedMs, run } = require('../lib');

const TARGET_MB = Number(process.env.RUNBOOK_BENCH_PG_MB || 1024);

function pgBin() {
  const root = '/usr/lib/postgresql';
  const version = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error('no PostgreSQL server under /usr/lib/postgresql; run make setup');
  return path.join(root, version, 'bin');
}

/** initdb refuses root: as root the throwaway cluster belongs to the postgres system user. */
const asOwner = (argv) => (process.getuid() === 0 ? ['runuser', '-u', 'postgres', '--', ...argv] : argv);

async function startCluster(dir, port) {
  const bin = pgBin();
  fs.mkdirSync(dir, { recursive: true });
  if (process.getuid() === 0) run(['chown', 'postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  run(asOwner([path.join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'bench', '--no-sync', '--no-instructions']));
  const argv = asOwner([path.join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir]);
  const child = spawn(argv[0], [...argv.slice(1), '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'], {
    stdio: 'ignore',
  });
  const url = `postgresql://bench@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i++) {
    if (spawnSync(path.join(bin, 'pg_isready'), ['-d', url]).status === 0) break;
    if (i > 300) throw new Error('the benchmark PostgreSQL did not start');
    await setTimeout(100);
  }
  const stop = () => {
    const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGINT');
    return new Promise((resolve) => child.once('exit', resolve));
  };
  return { bin, url, stop };
}

module.exports = {
  name: 'pg',
  needsTemporal: false,
  async run(_env, results) {
    const { freePort } = dist('devserver/ports.js');
    const { dumpDatabase } = dist('activities/postgres.js');
    const { backupActivities } = dist('activities/backup.js');
    const { activityConfigFromEnv } = dist('activities/index.js');
    // Its own folder: the cluster's owner (postgres, when run as root) cannot enter the workspace's.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-bench-pg-'));
    const pg = await startCluster(dir, await freePort());
    const psql = (sql) => run([path.join(pg.bin, 'psql'), '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', pg.url, '-c', sql]);
    try {
      // Rows of random hex (compresses about as well as real text data), a million at a time up to the size.
      psql('create table events (id bigint primary key, at timestamptz, payload text)');
      let bytes = 0;
      for (let batch = 0; bytes < TARGET_MB * 2 ** 20; batch++) {
        psql(
          `insert into events select g, now() - g * interval '1 second', md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text) from generate_series(${batch * 1_000_000 + 1}, ${(batch + 1) * 1_000_000}) g`,
        );
        bytes = Number(psql("select pg_database_size('postgres')").trim());
      }
      const size = `${(bytes / 2 ** 30).toFixed(2)} GiB`;
      psql('checkpoint');
      const out = (name) => path.join(dir, name);
      const bare = await elapsedMs(async () =>
        run([path.join(pg.bin, 'pg_dump'), '-Fc', '-d', pg.url, '-f', out('bare.dump')]),
      );
      const ours = await elapsedMs(() =>
        dumpDatabase({ url: pg.url, file: out('runbook.dump'), format: 'custom', binDir: pg.bin }),
      );
      results.add({
        figure: `back up a ${size} database (dumpDatabase -Fc, hashed while streaming)`,
        value: ours.ms,
        unit: 'ms',
        baseline: bare.ms,
        baselineLabel: 'pg_dump -Fc -f',
        goal: '≤ 1.1×',
      });
      const dump = ours.value;
      const verify = await elapsedMs(() =>
        backupActivities({
          ...activityConfigFromEnv(),
          env: { ...process.env, RUNBOOK_PG_BIN: pg.bin },
        }).verifyBackupArtifact({ file: dump.file, kind: 'postgres', format: 'custom', sha256: dump.sha256 }),
      );
      if (!verify.value.verified) throw new Error(`verification failed: ${verify.value.detail}`);
      results.add({
        figure: `verify that backup (checksum, pg_restore reads every block; ${(dump.bytes / 2 ** 20).toFixed(0)} MiB)`,
        value: verify.ms,
        unit: 'ms',
        baseline: ours.ms,
        baselineLabel: 'the backup itself',
      });
    } finally {
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
