#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'cli.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('runbook: not built yet; run `npm run build` (or `make build`) first\n');
  process.exit(2);
}
require(entry).main(process.argv);
