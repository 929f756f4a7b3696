// Writes the run's totals where .ci/run reads them, so CI's summary line does not parse Jest's output.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

class CountReporter {
  onRunComplete(_contexts, results) {
    const dir = path.join(__dirname, '..', '..', '.artifacts');
    fs.mkdirSync(dir, { recursive: true });
    const failedSuites = results.numRuntimeErrorTestSuites;
    fs.writeFileSync(
      path.join(dir, `test-counts-${process.env.RUNBOOK_TEST_SUITE || 'main'}.json`),
      JSON.stringify({ passed: results.numPassedTests, failed: results.numFailedTests + failedSuites }),
    );
  }
}
module.exports = CountReporter;
