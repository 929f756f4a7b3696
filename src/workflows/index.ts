// Every workflow type the workers register. Deterministic code only (see eslint.config.mjs).
export { inspect } from './inspect';
export { backup, backups } from './backup';
export { restore } from './restore';
