import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { chromium, type BrowserContext } from 'playwright-core';
import { appLockWorkflowId } from '../../src/common/names';
import { startDevServer, type DevServer } from '../../src/devserver/dev-server';
import { freePort } from '../../src/devserver/ports';
import { CLI, runCli } from '../support/cli';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { stopChild, waitFor } from '../support/postgres';
import { uniqueName } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(300_000);

const ARTIFACTS = path.resolve(__dirname, '..', '..', '.artifacts');

interface RawPayload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

/** Every payload in a raw history event, with where it sits; search attributes apart. */
function payloadsOf(value: unknown, where: string, into: Array<{ where: string; payload: RawPayload }>): void {
  if (value === null || typeof value !== 'object') return;
  if (value instanceof Uint8Array) return;
  const record = value as Record<string, unknown>;
  if ('data' in record && 'metadata' in record && record.metadata && typeof record.metadata === 'object') {
    into.push({ where, payload: record as RawPayload });
    return;
  }
  for (const [key, child] of Object.entries(record))
    if (key !== 'searchAttributes') payloadsOf(child, `${where}.${key}`, into);
}

/** Identifiers, not payloads: how on-call finds a run (search attributes) and the one-deploy-per-app lock. */
const PLAIN_BY_DESIGN = new Set(['searchAttributes', 'workflowId']);

/** Every string and byte (as text) a raw history holds outside PLAIN_BY_DESIGN: payloads, failures, summaries. */
function plainText(value: unknown, into: string[] = []): string {
  if (typeof value === 'string') into.push(value);
  else if (value instanceof Uint8Array) into.push(Buffer.from(value).toString('latin1'));
  else if (value !== null && typeof value === 'object')
    for (const [key, child] of Object.entries(value)) if (!PLAIN_BY_DESIGN.has(key)) plainText(child, into);
  return into.join('\n');
}

/**
 * Payload encryption end to end: the CLI and a worker process share a key; the server stores only ciphertext
 * (read raw, without the codec); `runbook codec-server` lets the Web UI — driven in headless Chromium — and the
 * CLI show the run decoded.
 */
describe('encrypted payloads, readable by on-call through the codec server', () => {
  const token = randomBytes(12).toString('hex');
  const keys = { RUNBOOK_CODEC_KEY_ID: 'k2026', RUNBOOK_CODEC_KEY_k2026: randomBytes(32).toString('base64') };
  const ref = uniqueName('canary').toLowerCase();
  const brokenRef = uniqueName('hotfix').toLowerCase();
  let fx: AppFixture;
  let server: DevServer;
  let codecServer: ChildProcess;
  let worker: WorkerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    fx = await createAppFixture({ name: 'secret-app' });
    const uiPort = await freePort();
    const codecPort = await freePort();
    codecServer = spawn(
      process.execPath,
      [CLI, 'codec-server', '--port', String(codecPort), '--cors-origin', `http://127.0.0.1:${uiPort}`],
      { env: { ...process.env, ...keys, RUNBOOK_CODEC_AUTH_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let said = '';
    codecServer.stdout?.on('data', (d: Buffer) => (said += d.toString()));
    codecServer.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    await waitFor(async () => expect(said).toContain('codec server on http://127.0.0.1:'), 30_000, 100);
    expect(said).toContain('token required');
    server = await startDevServer({ uiPort, uiCodecEndpoint: `http://127.0.0.1:${codecPort}/${token}` });
    env = {
      ...keys,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: server.namespace,
      TEMPORAL_UI_URL: server.uiUrl,
      RUNBOOK_TASK_QUEUE: fx.taskQueue,
      RUNBOOK_MANIFESTS: fx.manifestsDir,
    };
    worker = await startWorkerProcess({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      manifestsDir: fx.manifestsDir,
      env,
    });
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    if (codecServer) await stopChild(codecServer, 'SIGTERM');
    await server?.stop();
    await fx?.cleanup();
  });

  it('stores no plaintext of the app, refs, steps or outputs; search attributes stay plain', async () => {
    fx.stage(ref);
    const good = await runCli(['deploy', fx.app, '--ref', ref, '--json'], { env, timeoutMs: 120_000 });
    expect(JSON.parse(good.stdout)).toMatchObject({ outcome: 'succeeded', report: { app: fx.app, ref } });
    fx.stage(brokenRef, { behavior: 'http500' });
    const bad = await runCli(['deploy', fx.app, '--ref', brokenRef, '--json'], { env, timeoutMs: 120_000 });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ outcome: 'rolled_back', report: { app: fx.app, ref: brokenRef } });

    const connection = await Connection.connect({ address: server.address });
    try {
      // No codec and no data converter: the history and the listing as the server holds them.
      const service = connection.workflowService;
      const workflowId = appLockWorkflowId(fx.app);
      const { executions } = await service.listWorkflowExecutions({
        namespace: server.namespace,
        query: `WorkflowId="${workflowId}"`,
      });
      expect(executions).toHaveLength(2);
      for (const execution of executions) {
        const { history } = await service.getWorkflowExecutionHistory({
          namespace: server.namespace,
          execution: execution.execution,
        });
        const events = history?.events ?? [];
        expect(events.length).toBeGreaterThan(20);
        const found: Array<{ where: string; payload: RawPayload }> = [];
        for (const event of events) payloadsOf(event, String(event.eventType), found);
        expect(found.length).toBeGreaterThan(20);
        // The SDK writes patched()'s markers itself, in plain: they hold a code change's id, nothing of the run.
        const plain = found.filter(
          ({ where, payload }) =>
            Buffer.from(payload.metadata?.encoding ?? []).toString() !== 'binary/encrypted' &&
            !where.endsWith('markerRecordedEventAttributes.details.patch-data.payloads.0'),
        );
        expect(plain.map(({ where, payload }) => `${where}: ${Buffer.from(payload.data ?? []).toString()}`)).toEqual(
          [],
        );
        const text = plainText(events) + plainText(execution.memo);
        // The check reads bytes as bytes: the same deploy's plain JSON would show here.
        expect(text).toContain('binary/encrypted');
        for (const secret of [
          fx.app,
          ref,
          brokenRef,
          'install dependencies',
          'migrate database',
          'migrations applied',
          'answered 500',
          'rolled back',
        ])
          expect([secret, text.includes(secret)]).toEqual([secret, false]);
        // The filters on-call uses stay readable, and are all there is in plain.
        const attributes = Object.fromEntries(
          Object.entries(execution.searchAttributes?.indexedFields ?? {}).map(([key, payload]) => [
            key,
            defaultPayloadConverter.fromPayload(payload),
          ]),
        );
        expect(attributes).toMatchObject({ App: fx.app, Action: 'deploy' });
        for (const key of Object.keys(attributes).filter((k) => !k.startsWith('Temporal') && k !== 'BuildIds'))
          expect(['Action', 'App', 'Outcome', 'Ref']).toContain(key);
      }
    } finally {
      await connection.close();
    }
  });

  it('shows the run decoded to the CLI with the key', async () => {
    const status = await runCli(['status', appLockWorkflowId(fx.app)], { env });
    expect(status.stdout).toContain(`deploy ${fx.app} ${brokenRef}`);
    expect(status.stdout).toContain('install: install dependencies');
    expect(status.stdout).toMatch(/rolled back/);
    const { RUNBOOK_CODEC_KEY_ID: _id, RUNBOOK_CODEC_KEY_k2026: _key, ...keyless } = env;
    const unreadable = await runCli(['status', appLockWorkflowId(fx.app)], { env: keyless });
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain(
      'error: the run’s payloads are encrypted and this shell has no key to read them',
    );
  });

  it('shows the run decoded in the Web UI through the codec server', async () => {
    const profile = mkdtempSync(path.join(os.tmpdir(), 'runbook-chromium-'));
    let browser: BrowserContext | undefined;
    try {
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        headless: true,
        viewport: { width: 1400, height: 1000 },
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      });
      const page = await browser.newPage();
      mkdirSync(ARTIFACTS, { recursive: true });
      const workflowId = appLockWorkflowId(fx.app);
      await page.goto(`${server.uiUrl}/namespaces/${server.namespace}/workflows/${workflowId}`);
      for (const text of ['runStep • install: install dependencies', 'runStep • migrate: migrate database'])
        await page.getByText(text, { exact: false }).first().waitFor({ timeout: 60_000 });
      await page.getByText(`"ref": "${brokenRef}"`, { exact: false }).first().waitFor({ timeout: 30_000 });
      // The failure's message travels encrypted too: the UI shows it decoded.
      await page.getByText('answered 500, expected 200', { exact: false }).first().waitFor({ timeout: 30_000 });
      await page
        .getByText(`rolled back deploy of ${fx.app} ${brokenRef}`, { exact: false })
        .first()
        .waitFor({ timeout: 30_000 });
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-decoded.png'), fullPage: true });
    } finally {
      await browser?.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
