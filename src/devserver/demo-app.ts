/**
 * The target app `runbook demo` deploys: the Python stand-in in examples/demo/app, a staging folder the
 * deploy copies from, an app root with releases, and its manifest, all in one throwaway folder.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { stopProcessServicesOf } from '../activities/services/process';
import { freePort } from './ports';

export const DEMO_APP_SOURCE = path.resolve(__dirname, '..', '..', 'examples', 'demo', 'app');

export type DemoBehavior =
  | 'ok'
  | 'crash'
  | 'http500'
  | 'traceback'
  /** Good at first, then broken this many seconds after it started (for a bake). */
  | `${'http500' | 'exit' | 'grow' | 'spin'}-after:${number}`;

export interface DemoWorkspace {
  app: string;
  host: string;
  dir: string;
  manifestsDir: string;
  url: string;
  /** Puts a version of the app in the staging folder, the next deploy's source. */
  stage(version: string, behavior: DemoBehavior): void;
  /** What answers on `/` now: the version, or why nothing does. */
  serving(): Promise<string>;
  /** Stops the app's processes and removes the folder. */
  cleanup(): Promise<void>;
}

export interface DemoManifestOptions {
  app: string;
  host: string;
  root: string;
  staging: string;
  port: number;
  strategy?: 'releases' | 'in-place';
  /** How long health checks may take to pass. */
  within?: string;
}

/** The demo app's manifest (plain data, written as YAML): install, migrate, one process service, health. */
export function demoManifest(options: DemoManifestOptions): Record<string, unknown> {
  const url = `http://127.0.0.1:${options.port}`;
  return {
    app: options.app,
    host: options.host,
    root: options.root,
    strategy: options.strategy ?? 'releases',
    source: { type: 'copy', from: options.staging, exclude: ['app.log', '.installed', '__pycache__'] },
    // What the demo app reads from its host's worker (a port per host; how long and whether install fails).
    env: { pass: ['PORT', 'INSTALL_SECONDS', 'INSTALL_FAIL', 'INSTALL_COUNTER'] },
    steps: {
      install: [{ name: 'install dependencies', run: ['python3', 'install.py'], timeout: '5m' }],
      migrate: [{ name: 'migrate database', run: ['python3', 'migrate.py'] }],
    },
    services: [
      {
        name: 'web',
        type: 'process',
        start: ['python3', 'app.py', String(options.port)],
        port: options.port,
        log: 'app.log',
        stopTimeout: '5s',
      },
    ],
    health: {
      within: options.within ?? '6s',
      interval: '250ms',
      checks: [
        { name: 'home', http: `${url}/`, expect: 200 },
        { name: 'login page', http: `${url}/login`, expect: 200 },
        { name: 'no tracebacks', logs: 'app.log', deny: ['Traceback'] },
      ],
    },
    releases: { keep: 3 },
  };
}

/** Puts a version of the demo app in `staging`, good or broken in one of the ways real releases break. */
export function stageDemoApp(
  staging: string,
  version: string,
  options: { behavior?: DemoBehavior; migration?: 'ok' | 'fail' } = {},
): void {
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  cpSync(DEMO_APP_SOURCE, staging, { recursive: true });
  writeFileSync(path.join(staging, 'VERSION'), `${version}\n`);
  writeFileSync(path.join(staging, 'BEHAVIOR'), `${options.behavior ?? 'ok'}\n`);
  writeFileSync(path.join(staging, 'MIGRATION'), `${options.migration ?? 'ok'}\n`);
}

/** The version the demo app answers on `/`, or why nothing does. */
export async function servingVersion(url: string): Promise<string> {
  try {
    const response = await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { version?: string };
    return response.status === 200 ? (body.version ?? 'unknown') : `HTTP ${response.status}`;
  } catch (error) {
    return `nothing (${(error as Error).message})`;
  }
}

/** Stops every process of an app's `process` services on this machine (from Runbook's records of them). */
export function stopAppProcesses(root: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return stopProcessServicesOf(root, signal);
}

export async function createDemoWorkspace(app = 'demo'): Promise<DemoWorkspace> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-demo-'));
  const root = path.join(dir, 'srv', app);
  const staging = path.join(dir, 'staging', app);
  const manifestsDir = path.join(dir, 'apps');
  const port = await freePort();
  const host = 'demo-host';
  const url = `http://127.0.0.1:${port}`;
  mkdirSync(manifestsDir, { recursive: true });
  writeFileSync(path.join(manifestsDir, `${app}.yaml`), stringify(demoManifest({ app, host, root, staging, port })));
  return {
    app,
    host,
    dir,
    manifestsDir,
    url,
    stage: (version, behavior) => stageDemoApp(staging, version, { behavior }),
    serving: () => servingVersion(url),
    async cleanup() {
      await stopAppProcesses(root);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
