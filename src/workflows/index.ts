// Every workflow type the workers register. Deterministic code only (see eslint.config.mjs).
import { backup, backups } from './backup';
import { deploy } from './deploy';
import { drill } from './drill';
import { inspect } from './inspect';
import { job } from './job';
import { releases } from './releases';
import { restore } from './restore';
import { appLock } from './app-lock';
import { rollback } from './rollback';
import { watch } from './watch';
import { failRunsOnErrors } from './run-guard';

// Deploys, rollbacks and restores change a live app step by step, hold its lock, and wait at approval gates:
// they finish on the Runbook version that started them. The others are reads, backups, drills on throwaway
// copies, jobs and the schedule watcher (which never ends): they move to the newest version (their changes
// are patched() like any shipped workflow code).
failRunsOnErrors('PINNED', deploy, rollback, restore);
failRunsOnErrors('AUTO_UPGRADE', inspect, releases, job, backup, backups, drill, watch);

// appLock holds an app's lock for a restore (its child): an internal type, started by workflows only, pinned
// with its parent (the workers' default behaviour).

export { inspect, deploy, rollback, releases, job, backup, backups, restore, drill, watch, appLock };
