import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import type { Manifest } from '../manifest/types';
import { failure } from '../common/failures';

/**
 * Variables an app's commands, checks, jobs and services get from the worker's own environment whatever the
 * manifest says: what programs need to find themselves, their locale and their user's files. Nothing else
 * of the worker's (RUNBOOK_DATABASE_URL, SMTP_PASSWORD, other apps' secrets) reaches an app's process.
 */
export const PASSED_THROUGH = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'LC_MESSAGES',
  'TZ',
  'TMPDIR',
  'TERM',
  // systemctl --user and docker compose find their daemons (and the docker CLI its plugins) through these.
  'XDG_RUNTIME_DIR',
  'DBUS_SESSION_BUS_ADDRESS',
  'DOCKER_HOST',
  'DOCKER_CONFIG',
] as const;

/** The variables of the app's env file on this host (none when it has no file, or the file is missing). */
export function envFileValues(manifest: Pick<Manifest, 'env'>): Record<string, string> {
  const file = manifest.env.file;
  if (!file || !existsSync(file)) return {};
  return parse(readFileSync(file));
}

/**
 * Where the values the manifest names (`…Env` fields, `env.required`) are looked up by Runbook itself on the
 * host: the app's env file, then the worker's environment. Values stay on the worker: used to connect,
 * passed to processes, never returned to a workflow.
 */
export function appEnvironment(manifest: Pick<Manifest, 'env'>, workerEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...workerEnv, ...envFileValues(manifest) };
}

/**
 * The environment an app's own processes get (steps, jobs, command checks, services): the allow-list above,
 * the names the manifest declares (`env.required`, and `env.pass` when set) from the worker, and the env
 * file over them. The caller adds the step's, job's or service's plain `env` settings.
 */
export function commandEnvironment(manifest: Pick<Manifest, 'env'>, workerEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of [...PASSED_THROUGH, ...manifest.env.required, ...(manifest.env.pass ?? [])])
    if (workerEnv[name] !== undefined) env[name] = workerEnv[name];
  return { ...env, ...envFileValues(manifest) };
}

/**
 * What a service manager hands the app's long-running services (a systemd unit's EnvironmentFile, compose's
 * --env-file): the names of its env file, its required names and the names it passes, with their values
 * taken from the app's command environment `env` (commandEnvironment) — never the worker's other variables.
 */
export function serviceEnvironment(manifest: Pick<Manifest, 'env'>, env: NodeJS.ProcessEnv): Record<string, string> {
  const names = new Set([
    ...Object.keys(envFileValues(manifest)),
    ...manifest.env.required,
    ...(manifest.env.pass ?? []),
  ]);
  const values: Record<string, string> = {};
  for (const name of [...names].sort()) {
    const value = env[name];
    if (value !== undefined) values[name] = value;
  }
  return values;
}

/**
 * `serviceEnvironment` as an environment file systemd and Docker Compose both read: one NAME="value" per
 * line, with the characters systemd treats specially inside double quotes escaped. Pure.
 */
export function environmentFileText(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}="${value.replace(/[\\"`$]/g, '\\$&')}"\n`)
    .join('');
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

/** Headers whose values the manifest names by variable (`headersEnv`), read from `env`. */
export function secretHeaders(
  headersEnv: Record<string, string> | undefined,
  env: NodeJS.ProcessEnv,
  purpose: string,
  manifest?: Pick<Manifest, 'env'>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headersEnv ?? {}).map(([header, name]) => [
      header,
      requireEnv(env, name, `header ${header} of ${purpose}`, manifest),
    ]),
  );
}

/** The names of required variables that are missing, for a preflight that reports them all at once. */
export function missingEnv(env: NodeJS.ProcessEnv, names: readonly string[]): string[] {
  return names.filter((name) => env[name] === undefined || env[name] === '');
}

/**
 * Values to mask in any output that is kept (history, the deploy log, audit rows, mails): every value of the
 * app's env file and of every variable the manifest names (`env.required`, every `…Env` field), each also as
 * it appears URL-encoded and, for URLs, its password alone.
 */
export function secretValues(manifest: Manifest, workerEnv: NodeJS.ProcessEnv): string[] {
  const env = appEnvironment(manifest, workerEnv);
  const names = new Set<string>(manifest.env.required);
  collectEnvNames(manifest, names);
  const values = [...Object.values(envFileValues(manifest)), ...[...names].map((n) => env[n])];
  return secretForms(values.filter((v): v is string => typeof v === 'string'));
}

/** Secrets as output may show them: as they are, URL-encoded, a URL's password (raw and decoded). */
export function secretForms(values: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const value of values) {
    forms.add(value);
    forms.add(encodeURIComponent(value));
    const password = urlPassword(value);
    if (password) {
      forms.add(password);
      forms.add(safeDecode(password));
      forms.add(encodeURIComponent(safeDecode(password)));
    }
  }
  // Longest first, so a secret that contains another is masked whole.
  return [...forms].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** Shorter values (a port, a flag) are left alone: masking them would garble output and hide nothing. */
export const MIN_SECRET_LENGTH = 4;

function urlPassword(value: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  try {
    return new URL(value).password || undefined;
  } catch {
    return undefined;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function collectEnvNames(value: unknown, names: Set<string>): void {
  if (Array.isArray(value)) value.forEach((v) => collectEnvNames(v, names));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (/Env$/.test(key) && typeof v === 'string') names.add(v);
      // A map of names, such as headersEnv: { Authorization: API_TOKEN }.
      else if (/Env$/.test(key) && v && typeof v === 'object')
        Object.values(v).forEach((n) => typeof n === 'string' && names.add(n));
      else collectEnvNames(v, names);
    }
  }
}
