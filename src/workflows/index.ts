// Every workflow type the workers register. Deterministic code only (see eslint.config.mjs).
import { backup, backups } from './backup';
import { deploy } from './deploy';
import { inspect } from './inspect';
import { job } from './job';
import { releases } from './releases';
import { restore } from './restore';
import { rollback } from './rollback';
import { failRunsOnErrors } from './run-guard';

failRunsOnErrors(inspect, deploy, rollback, releases, job, backup, backups, restore);

export { inspect, deploy, rollback, releases, job, backup, backups, restore };
