/**
 * The entry of the CLI's V8 startup snapshot (dist/cli/runbook.blob, built by scripts/build-cli-snapshot.js;
 * bin/runbook starts from it while it is fresh). What is imported here is loaded once, when the snapshot is
 * built, instead of on every command: the Temporal API's protobuf definitions (most of the SDK's load), zod and
 * the manifest schema, YAML, commander. Only libraries whose load reads nothing of the process (environment,
 * arguments, terminal) belong here: their state is frozen at build time. gRPC and the SDK's client stay out:
 * Node 20 cannot snapshot the http2 binding they load; they load from the same bundle when a command needs them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import '@temporalio/proto';
import '@temporalio/common';
import 'commander';
import { parseManifest } from '../manifest/load';
import '../manifest/lookup';

// Reading the examples once compiles the YAML parser's and the schema's code into the snapshot too.
const examples = path.join(__dirname, '..', '..', 'examples');
for (const file of readdirSync(examples).filter((name) => name.endsWith('.yaml')))
  parseManifest(readFileSync(path.join(examples, file), 'utf8'));

v8.startupSnapshot.setDeserializeMainFunction(() => {
  void import('./cli').then(({ main }) => main(process.argv));
});
