import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { appLockWorkflowId } from '../../src/common/names';
import { REF } from '../../src/common/search-attributes';
import { runCli } from '../support/cli';
import { createAppFixture, type AppFixture } from '../support/demo-app';
import { waitFor } from '../support/postgres';
import { runOutcome } from '../support/runs';
import { connectClient, startTestWorker, type TestWorker } from '../support/temporal';

const ARTIFACTS = path.resolve(__dirname, '..', '..', '.artifacts');

/** Debian's Chromium, headless, never a downloaded browser; a fresh profile per run. */
async function launchChromium(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

/** The list page reads visibility, which lags the runs a moment: reload until the row shows. */
async function openList(page: Page, ui: string, query: string, workflowId: string): Promise<void> {
  const url = `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
  await waitFor(
    async () => {
      await page.goto(url);
      await page.getByRole('link', { name: workflowId, exact: true }).first().waitFor({ timeout: 3_000 });
    },
    45_000,
    500,
  );
}

/**
 * On-call and operators in the Temporal Web UI of the test dev server, driven in headless Chromium: a deploy
 * found by its App search attribute reads as the runbook does, a rolled-back one says why, and a deploy
 * started from the UI's start-workflow form runs to completion.
 */
describe('the Temporal Web UI for on-call and operators', () => {
  const ui = process.env.TEMPORAL_UI_URL as string;
  let fx: AppFixture;
  let worker: TestWorker;
  let env: Record<string, string>;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  let temporal: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    temporal = await connectClient();
    mkdirSync(ARTIFACTS, { recursive: true });
    fx = await createAppFixture({ name: 'webui' });
    worker = await startTestWorker({
      taskQueue: fx.taskQueue,
      hosts: [fx.host],
      activities: { manifestsDir: fx.manifestsDir },
    });
    env = { RUNBOOK_TASK_QUEUE: fx.taskQueue, RUNBOOK_MANIFESTS: fx.manifestsDir };
    profile = mkdtempSync(path.join(os.tmpdir(), 'runbook-chromium-'));
    browser = await launchChromium(profile);
    page = await browser.newPage();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await worker?.stop();
    await fx?.cleanup();
    await temporal?.close();
  });

  it('finds a finished deploy by its App search attribute and shows its steps, outcome and summary', async () => {
    fx.stage('v1');
    const deployed = await runCli(['deploy', fx.app, '--ref', 'v1'], { env, timeoutMs: 120_000 });
    expect(deployed.code).toBe(0);
    const workflowId = appLockWorkflowId(fx.app);

    await openList(page, ui, `App="${fx.app}"`, workflowId);
    const row = page.getByRole('row').filter({ hasText: workflowId });
    await row.getByText('Completed', { exact: false }).first().waitFor();
    await page.getByRole('link', { name: workflowId, exact: true }).first().click();

    await page.getByText('Workflow Type').first().waitFor();
    const timeline = page.locator('body');
    for (const step of [
      'loadManifest',
      'runStep • install: install dependencies',
      'runStep • migrate: migrate database',
      'switchCurrent',
      'startServices',
    ])
      await timeline.getByText(step, { exact: false }).first().waitFor({ timeout: 15_000 });
    await page
      .getByText(`health home (${fx.url('/')})`, { exact: false })
      .first()
      .waitFor();
    await page.getByText('"outcome": "succeeded"', { exact: false }).first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-deploy.png'), fullPage: true });

    await page.getByRole('tab', { name: 'User Metadata' }).click();
    // The summary given at start and the progress tracker's current details render as markdown in frames.
    await waitFor(
      async () => {
        const texts = await Promise.all(
          page.frames().map((frame) =>
            frame
              .locator('body')
              .innerText()
              .catch(() => ''),
          ),
        );
        expect(texts.join('\n')).toContain(`deploy ${fx.app} v1`);
        expect(texts.join('\n')).toMatch(new RegExp(`deploy ${fx.app}\\s+— (\\d+)[/⁄]\\1 steps done`));
      },
      15_000,
      250,
    );
    await page.getByRole('tab', { name: 'Memo' }).click();
    await page.getByText(`deployed ${fx.app} v1`, { exact: false }).first().waitFor();
    await page.getByRole('tab', { name: 'Search Attributes' }).click();
    await waitFor(
      async () => {
        const text = await page.locator('main').innerText();
        for (const [key, value] of [
          ['App', fx.app],
          ['Action', 'deploy'],
          ['Outcome', 'succeeded'],
          ['Ref', 'v1'],
        ])
          expect(text).toContain(`"${key}": "${value}"`);
      },
      15_000,
      250,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-search-attributes.png'), fullPage: true });
  }, 180_000);

  it('finds a rolled-back deploy by App and Outcome, with the failure a person can act on', async () => {
    fx.stage('v2', { behavior: 'http500' });
    const deployed = await runCli(['deploy', fx.app, '--ref', 'v2'], { env, timeoutMs: 120_000 });
    expect(deployed.code).toBe(1);
    const workflowId = appLockWorkflowId(fx.app);

    await openList(page, ui, `App="${fx.app}" AND Outcome="rolled_back"`, workflowId);
    expect(await page.getByRole('link', { name: workflowId, exact: true }).count()).toBe(1);
    await page.getByRole('row').filter({ hasText: workflowId }).getByText('Failed', { exact: false }).first().waitFor();
    await page.getByRole('link', { name: workflowId, exact: true }).click();
    await page.getByText('answered 500, expected 200', { exact: false }).first().waitFor({ timeout: 15_000 });
    await page.getByText(`rolled back deploy of ${fx.app} v2`, { exact: false }).first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-rolled-back.png'), fullPage: true });
  }, 180_000);

  it("starts a deploy from the UI's start-workflow form and sees it complete", async () => {
    fx.stage('v3');
    const workflowId = appLockWorkflowId(fx.app);
    const previousRun = await temporal.client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        (d) => d.runId,
        () => undefined,
      );
    await page.goto(`${ui}/namespaces/default/workflows/start-workflow`);
    await page.getByTestId('workflowId').fill(workflowId);
    await page.getByTestId('taskQueue').fill(fx.taskQueue);
    await page.getByTestId('workflowType').fill('deploy');
    // The input is a CodeMirror editor: insert the JSON as text so no auto-closed brackets are added.
    await page.locator('.cm-content').first().click();
    await page.keyboard.insertText(JSON.stringify({ app: fx.app, ref: 'v3' }));
    // Leaving the editor pretty-prints the JSON and moves the button down: click it once the form has settled.
    await page.getByText('Single JSON payload supported').click();
    await page.getByText('"ref": "v3"').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-start-form.png'), fullPage: true });
    await page.getByRole('button', { name: 'Start Workflow' }).click();

    await waitFor(
      async () => {
        const description = await temporal.client.workflow.getHandle(workflowId).describe();
        expect(description.runId).not.toBe(previousRun);
        if (description.status.name === 'FAILED')
          throw new Error(
            `the deploy started from the form failed: ${(await runOutcome(temporal.client, workflowId)).report?.error}`,
          );
        expect(description.status.name).toBe('COMPLETED');
        expect(description.typedSearchAttributes.get(REF)).toBe('v3');
      },
      90_000,
      500,
    );
    expect(await fx.serving()).toBe('v3');

    await waitFor(
      async () => {
        await page.goto(`${ui}/namespaces/default/workflows/${workflowId}`);
        await page.getByText('"outcome": "succeeded"', { exact: false }).first().waitFor({ timeout: 5_000 });
      },
      45_000,
      500,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-started-from-form.png'), fullPage: true });
  }, 180_000);
});
