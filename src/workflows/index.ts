// Every workflow type the workers register. Deterministic code only (see eslint.config.mjs).
export { inspect } from './inspect';
export { deploy } from './deploy';
export { rollback } from './rollback';
export { releases } from './releases';
export { job } from './job';
export { backup, backups } from './backup';
export { restore } from './restore';
export { watch } from './watch';
export { drill } from './drill';
