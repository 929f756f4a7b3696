/**
 * The worker's process entry (systemd unit, Dockerfile, compose): `node dist/workers/main.js [flags]` is
 * `runbook worker [flags]` — the same options, environment variables, errors and exit codes.
 */
import { main } from '../cli/cli';

void main([process.argv[0], 'runbook', 'worker', ...process.argv.slice(2)]);
