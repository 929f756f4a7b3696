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

failRunsOnErrors(inspect, deploy, rollback, releases, job, backup, backups, restore, drill, watch);

// appLock holds an app's lock for a restore (its child): an internal type, started by workflows only.

export { inspect, deploy, rollback, releases, job, backup, backups, restore, drill, watch, appLock };
