import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../src/devserver/ports';
import { uniqueName } from './temporal';

const DEMO_APP = path.resolve(__dirname, '..', '..', 'examples', 'demo', 'app');

export type Behavior = 'ok' | 'crash' | 'http500' | 'traceback';

/** A real target app for deploy tests: the demo app, a staging folder, an app root and its manifest. */
export interface AppFixture {
  app: string;
  host: string;
  taskQueue: string;
  dir: string;
  root: string;
  staging: string;
  port: number;
  manifestsDir: string;
  manifest: Record<string, unknown>;
  /** Puts version `version` of the demo app in the staging folder, good or broken. */
  stage(version: string, options?: { behavior?: Behavior; migration?: 'ok' | 'fail' }): void;
  /** Rewrites the manifest file, after changing `manifest`. */
  save(): void;
  url(pathname?: string): string;
  /** What the app answers on `/` now: its version, or why it does not answer. */
  serving(): Promise<string>;
  /** Stops every process the tests started for this app and removes its folders. */
  cleanup(): Promise<void>;
}

export async function createAppFixture(options: { strategy?: 'releases' | 'in-place'; name?: string } = {}): Promise<AppFixture> {
  const app = uniqueName(options.name ?? 'demo').toLowerCase();
  const dir = mkdtempSync(path.join(os.tmpdir(), `runbook-${app}-`));
  const root = path.join(dir, 'srv', app);
  const staging = path.join(dir, 'staging', app);
  const manifestsDir = path.join(dir, 'apps');
  mkdirSync(manifestsDir, { recursive: true });
  const port = await freePort();
  const host = uniqueName('host');
  const url = (pathname = '/') => `http://127.0.0.1:${port}${pathname}`;
  const manifest: Record<string, unknown> = {
    app,
    host,
    root,
    strategy: options.strategy ?? 'releases',
    source: { type: 'copy', from: staging, exclude: ['app.log', '.installed', '__pycache__'] },
    steps: {
      install: [{ name: 'install dependencies', run: ['python3', 'install.py'], timeout: '5m' }],
      migrate: [{ name: 'migrate database', run: ['python3', 'migrate.py'] }],
    },
    services: [{ name: 'web', type: 'process', start: ['python3', 'app.py', String(port)], port, log: 'app.log', stopTimeout: '5s' }],
    health: {
      within: '8s',
      interval: '250ms',
      checks: [
        { name: 'home', http: url('/'), expect: 200 },
        { name: 'login page', http: url('/login'), expect: 200 },
        { name: 'no tracebacks', logs: 'app.log', deny: ['Traceback'] },
      ],
    },
    releases: { keep: 3 },
  };
  const fixture: AppFixture = {
    app,
    host,
    taskQueue: uniqueName('deploy-q'),
    dir,
    root,
    staging,
    port,
    manifestsDir,
    manifest,
    stage(version, stageOptions = {}) {
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      cpSync(DEMO_APP, staging, { recursive: true });
      writeFileSync(path.join(staging, 'VERSION'), `${version}\n`);
      writeFileSync(path.join(staging, 'BEHAVIOR'), `${stageOptions.behavior ?? 'ok'}\n`);
      writeFileSync(path.join(staging, 'MIGRATION'), `${stageOptions.migration ?? 'ok'}\n`);
    },
    save() {
      writeFileSync(path.join(manifestsDir, `${app}.yaml`), stringify(manifest));
    },
    url,
    async serving() {
      try {
        const response = await fetch(url('/'), { signal: AbortSignal.timeout(2_000) });
        const body = (await response.json()) as { version: string };
        return response.status === 200 ? body.version : `status ${response.status}`;
      } catch (error) {
        return `not answering (${(error as Error).message})`;
      }
    },
    async cleanup() {
      for (const runDir of [path.join(root, '.runbook', 'run'), `${root}.runbook/run`]) {
        if (!existsSync(runDir)) continue;
        for (const file of readdirSync(runDir)) {
          try {
            const { pid } = JSON.parse(readFileSync(path.join(runDir, file), 'utf8')) as { pid: number };
            process.kill(-pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  fixture.save();
  return fixture;
}
