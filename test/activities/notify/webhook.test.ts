import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../../src/activities/config';
import { notifyActivities, type NotifyRequest, type NotifyResult } from '../../../src/activities/notify';
import { startHttpRecorder, type HttpRecorder, type Reply } from '../../support/http-recorder';
import { uniqueName } from '../../support/temporal';
import { backupReport, jobReport } from './reports';

describe('webhook notifications (a local receiver)', () => {
  let receiver: HttpRecorder;
  let reply: Reply = { status: 200 };
  beforeAll(async () => {
    receiver = await startHttpRecorder(() => reply);
  });
  afterAll(() => receiver?.close());

  function send(env: Record<string, string>, request: NotifyRequest): Promise<NotifyResult> {
    const { notify } = notifyActivities({
      ...activityConfigFromEnv({}),
      uiUrl: 'http://ui:8233',
      redisUrl: process.env.RUNBOOK_TEST_REDIS_URL,
      env,
    });
    return new MockActivityEnvironment().run(notify, request);
  }
  function failureOf(env: Record<string, string>, request: NotifyRequest): Promise<ApplicationFailure> {
    return send(env, request).then(
      () => {
        throw new Error('expected the notification to fail');
      },
      (error: unknown) => error as ApplicationFailure,
    );
  }

  it('posts the report as JSON with its event, link and idempotency key', async () => {
    reply = { status: 200 };
    const report = { ...backupReport('failed'), workflowId: uniqueName('backup-financial-etl') };
    const path = `/${uniqueName('hook')}`;
    const result = await send(
      { MONITORING_WEBHOOK_URL: `${receiver.url}${path}` },
      {
        report,
        notify: {
          on: ['backup.failed'],
          channels: [{ webhook: { urlEnv: 'MONITORING_WEBHOOK_URL', format: 'json' } }],
        },
      },
    );
    expect(result.delivered).toEqual(['webhook-MONITORING_WEBHOOK_URL']);
    const [call] = receiver.requests.filter((r) => r.path === path);
    const key = `${report.workflowId}/run-2/backup.failed/webhook-MONITORING_WEBHOOK_URL`;
    expect(call.method).toBe('POST');
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['idempotency-key']).toBe(key);
    expect(JSON.parse(call.body)).toEqual({
      event: 'backup.failed',
      idempotencyKey: key,
      title: 'financial-etl: backup audit FAILED',
      app: 'financial-etl',
      kind: 'backup',
      outcome: 'failed',
      summary: 'audit: pg_dump failed',
      error: 'pg_dump exited with status 1: connection refused; check DATABASE_URL',
      url: `http://ui:8233/namespaces/default/workflows/${report.workflowId}/run-2/history`,
      workflowId: report.workflowId,
      runId: 'run-2',
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
      ref: null,
      release: null,
      steps: report.steps,
      details: { target: 'audit' },
    });
  });

  it('posts a Slack-compatible message: text plus blocks with the steps and the link', async () => {
    reply = { status: 200, body: 'ok' };
    const report = { ...jobReport(), workflowId: uniqueName('job-etl') };
    const path = `/services/T000/B000/${uniqueName('secret')}`;
    await send(
      { SLACK_WEBHOOK_URL: `${receiver.url}${path}` },
      {
        report,
        notify: { on: ['failed'], channels: [{ webhook: { urlEnv: 'SLACK_WEBHOOK_URL', format: 'slack' } }] },
        events: ['job.summary', 'job.failed'],
      },
    );
    const [call] = receiver.requests.filter((r) => r.path === path);
    const body = JSON.parse(call.body);
    expect(body.text).toBe(
      'financial-etl: job daily-processor FAILED: 2025-12-01..2025-12-03 (auto): 2 OK, 1 FAILED — failed: 2025-12-02',
    );
    expect(body.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'financial-etl: job daily-processor FAILED' },
    });
    const texts = body.blocks
      .slice(1)
      .map(
        (b: { text?: { text: string }; elements?: Array<{ text: string }> }) => b.text?.text ?? b.elements?.[0].text,
      );
    expect(texts).toEqual([
      ':x: 2025-12-01..2025-12-03 (auto): 2 OK, 1 FAILED — failed: 2025-12-02',
      '*What went wrong*\n```1 of 3 date(s) of daily-processor FAILED: 2025-12-02.```',
      '*Steps*\n:white_check_mark: 2025-12-01 — succeeded (1.2s)\n:x: 2025-12-02 — failed (800ms)\n:white_check_mark: 2025-12-03 — succeeded (1.5s)',
      `<http://ui:8233/namespaces/default/workflows/${report.workflowId}/run-3/history|Open the run in the Temporal Web UI> · \`${report.workflowId}\``,
    ]);
  });

  it('retries a receiver error, stops on a refused request, and never puts the URL (a secret) in the error', async () => {
    const notify: NotifyRequest['notify'] = {
      on: ['failed'],
      channels: [{ webhook: { urlEnv: 'HOOK', format: 'json' } }],
    };
    const secretUrl = `${receiver.url}/hooks/${uniqueName('token')}`;
    reply = { status: 502, body: 'bad gateway' };
    const busy = await failureOf(
      { HOOK: secretUrl },
      { report: { ...backupReport('failed'), workflowId: uniqueName('b') }, notify },
    );
    expect(busy.nonRetryable).toBe(false);
    expect(busy.message).toContain('the webhook in HOOK answered 502: bad gateway');
    reply = { status: 404, body: 'no such hook' };
    const gone = await failureOf(
      { HOOK: secretUrl },
      { report: { ...backupReport('failed'), workflowId: uniqueName('b') }, notify },
    );
    expect(gone.nonRetryable).toBe(true);
    expect(gone.message).toContain('answered 404: no such hook; check HOOK');
    expect(`${busy.message}${gone.message}`).not.toContain(secretUrl);
  });

  it('names the missing variable when the URL is not set', async () => {
    const error = await failureOf(
      {},
      {
        report: backupReport('failed'),
        notify: { on: ['failed'], channels: [{ webhook: { urlEnv: 'MONITORING_WEBHOOK_URL', format: 'json' } }] },
      },
    );
    expect(error.nonRetryable).toBe(true);
    expect(error.message).toContain(
      "MONITORING_WEBHOOK_URL is not set (webhook URL for notifications); set it in the worker's environment",
    );
  });
});
