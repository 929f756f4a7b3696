// Writes the run's totals where .ci/run reads them, so CI's summary line does not parse Jest's output; with
// each failure's test and the first lines of its message, which .ci/run repeats just above that line (the
// part of a long log a reader sees first).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function failuresOf(results, root) {
  const failures = [];
  for (const file of results.testResults) {
    const where = path.relative(root, file.testFilePath);
    if (file.testExecError)
      failures.push({ where, test: '(the file did not run)', message: file.testExecError.message });
    for (const test of file.testResults)
      if (test.status === 'failed')
        failures.push({ where, test: test.fullName, message: test.failureMessages.join('\n') });
  }
  return failures.map((f) => ({
    ...f,
    message: String(f.message ?? '')
      .replace(ANSI, '')
      .split('\n')
      .map((line) => line.trimEnd())
      .filter((line) => line.trim() && !/^\s+at /.test(line))
      .slice(0, 6)
      .join('\n'),
  }));
}

class CountReporter {
  constructor(globalConfig) {
    this.root = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const dir = path.join(__dirname, '..', '..', '.artifacts');
    fs.mkdirSync(dir, { recursive: true });
    const failedSuites = results.numRuntimeErrorTestSuites;
    fs.writeFileSync(
      path.join(dir, `test-counts-${process.env.RUNBOOK_TEST_SUITE || 'main'}.json`),
      JSON.stringify({
        passed: results.numPassedTests,
        failed: results.numFailedTests + failedSuites,
        failures: failuresOf(results, this.root),
      }),
    );
  }
}
module.exports = CountReporter;
