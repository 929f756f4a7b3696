// `make test` runs the main suite. Long suites (kill matrix, real cluster, seeds on real systemd/Docker) live in
// files named `<name>.<suite>.test.ts` and run by their own make targets, which .ci/run also calls.
const LONG_SUITES = ['durability', 'cluster', 'seeds'];
const suite = process.env.RUNBOOK_TEST_SUITE || 'main';
if (suite !== 'main' && !LONG_SUITES.includes(suite)) throw new Error(`unknown RUNBOOK_TEST_SUITE ${suite}`);

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: suite === 'main' ? ['**/*.test.ts'] : [`**/*.${suite}.test.ts`],
  testPathIgnorePatterns:
    suite === 'main' ? ['/node_modules/', `\\.(${LONG_SUITES.join('|')})\\.test\\.ts$`] : ['/node_modules/'],
  transform: { '^.+\\.ts$': ['@swc/jest'], '^.+\\.js$': ['@swc/jest'] },
  // ES-module-only packages (age-encryption and its @noble/@scure crypto) become CommonJS for Jest's
  // module system; outside Jest, Node loads them through require() itself.
  transformIgnorePatterns: ['/node_modules/(?!(age-encryption|@noble|@scure)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  // A worker's start rightly ends what any dead worker left on this machine, so kill-matrix files running side
  // by side would end each other's leftovers before their own checks: the durability suite runs one file at a time.
  maxWorkers: suite === 'durability' ? 1 : 2,
  // Each test file loads its own copy of every module (the Temporal SDK, the AWS SDK…), so a Jest worker's
  // memory grows by tens of MB a file; a worker past 1 GB takes about a second to free it as it exits, more
  // than the 500 ms Jest waits before killing it ("failed to exit gracefully"). A worker is replaced once its
  // heap passes this after a file, so each exits in time. (One worker runs in band: no limit there.)
  ...(suite === 'durability' ? {} : { workerIdleMemoryLimit: '200MB' }),
  reporters: ['default', '<rootDir>/test/support/count-reporter.js'],
};
