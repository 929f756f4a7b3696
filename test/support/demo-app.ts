import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  demoManifest,
  servingVersion,
  stageDemoApp,
  stopAppProcesses,
  type DemoBehavior,
} from '../../src/devserver/demo-app';
import { freePort } from '../../src/devserver/ports';
import { uniqueName } from './temporal';

export type Behavior = DemoBehavior;

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

export async function createAppFixture(
  options: {
    strategy?: 'releases' | 'in-place';
    name?: string;
    /** Share one manifests folder (one worker for several apps); default a folder of its own. */
    manifestsDir?: string;
  } = {},
): Promise<AppFixture> {
  const app = uniqueName(options.name ?? 'demo').toLowerCase();
  const dir = mkdtempSync(path.join(os.tmpdir(), `runbook-${app}-`));
  const root = path.join(dir, 'srv', app);
  const staging = path.join(dir, 'staging', app);
  const manifestsDir = options.manifestsDir ?? path.join(dir, 'apps');
  mkdirSync(manifestsDir, { recursive: true });
  const port = await freePort();
  const host = uniqueName('host');
  const strategy = options.strategy ?? 'releases';
  const url = (pathname = '/') => `http://127.0.0.1:${port}${pathname}`;
  const manifest = demoManifest({ app, host, root, staging, port, strategy, within: '8s' });
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
    stage: (version, stageOptions = {}) => stageDemoApp(staging, version, stageOptions),
    save() {
      writeFileSync(path.join(manifestsDir, `${app}.yaml`), stringify(manifest));
    },
    url,
    serving: () => servingVersion(url()),
    async cleanup() {
      await stopAppProcesses(root, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
  fixture.save();
  return fixture;
}
