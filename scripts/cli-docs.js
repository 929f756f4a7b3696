// Writes docs/cli.md from the built CLI's own --help (run `npm run build` first; `npm run docs:cli` does).
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { renderCliDocs } = require(path.join(root, 'dist', 'cli', 'cli-docs.js'));
mkdirSync(path.join(root, 'docs'), { recursive: true });
writeFileSync(path.join(root, 'docs', 'cli.md'), renderCliDocs());
process.stdout.write('wrote docs/cli.md\n');
