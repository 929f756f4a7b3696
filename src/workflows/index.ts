// Every workflow type the workers register. Deterministic code only (see eslint.config.mjs).
export { inspect } from './inspect';
export { job } from './job';
