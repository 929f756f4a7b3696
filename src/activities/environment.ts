import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import type { Manifest } from '../manifest/types';
import { failure } from '../common/failures';

/**
 * The environment an app's commands see on its host: the worker's own environment plus the manifest's
 * env file. Values stay on the worker: they are passed to processes, never returned to a workflow.
 */
export function appEnvironment(manifest: Pick<Manifest, 'env'>, workerEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const file = manifest.env.file;
  if (!file || !existsSync(file)) return { ...workerEnv };
  return { ...workerEnv, ...parse(readFileSync(file)) };
}

/** Reads one named value, or fails without retrying with a message that says where to set it. */
export function requireEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  purpose: string,
  manifest?: Pick<Manifest, 'env'>,
): string {
  const value = env[name];
  if (value === undefined || value === '') {
    const where = manifest?.env.file ? `${manifest.env.file} or the worker's environment` : "the worker's environment";
    throw failure('MissingEnvironment', `${name} is not set (${purpose}); set it in ${where} and run again`);
  }
  return value;
}

/** The names of required variables that are missing, for a preflight that reports them all at once. */
export function missingEnv(env: NodeJS.ProcessEnv, names: readonly string[]): string[] {
  return names.filter((name) => env[name] === undefined || env[name] === '');
}

/**
 * Values to mask in any command output kept in history: every variable the manifest names (required
 * ones and every `...Env` reference), since those are where secrets live.
 */
export function secretValues(manifest: Manifest, env: NodeJS.ProcessEnv): string[] {
  const names = new Set<string>(manifest.env.required);
  collectEnvNames(manifest, names);
  return [...names].map((n) => env[n]).filter((v): v is string => typeof v === 'string' && v.length >= 4);
}

function collectEnvNames(value: unknown, names: Set<string>): void {
  if (Array.isArray(value)) value.forEach((v) => collectEnvNames(v, names));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (/Env$/.test(key) && typeof v === 'string') names.add(v);
      else collectEnvNames(v, names);
    }
  }
}
