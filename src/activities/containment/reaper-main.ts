import { reapWorker } from './reaper';

// The reaper of one worker (see startReaper): runs once the worker has died.
const id = process.argv[2];
if (id)
  reapWorker(id).catch((error: unknown) => {
    console.error(`runbook reaper for ${id}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
