import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityConfigFromEnv } from '../../../src/activities/config';
import { notifyActivities, type NotifyRequest } from '../../../src/activities/notify';
import { startHttpRecorder, type HttpRecorder, type Reply } from '../../support/http-recorder';
import { uniqueName } from '../../support/temporal';
import { deployReport } from './reports';

const API_KEY = 'SG.test-key-0123456789';
const SENDGRID: NotifyRequest['notify'] = {
  on: ['rolled_back'],
  channels: [
    {
      email: {
        via: 'sendgrid',
        fromEnv: 'EMAIL_FROM',
        toEnv: 'NOTIFICATION_RECIPIENTS',
        apiKeyEnv: 'SENDGRID_API_KEY',
      },
    },
  ],
};

describe('e-mail through SendGrid (a local server speaking the v3 mail-send API)', () => {
  let api: HttpRecorder;
  let status = 202;
  beforeAll(async () => {
    api = await startHttpRecorder((): Reply =>
      status === 202
        ? { status: 202, headers: { 'X-Message-Id': 'sg-message-1' } }
        : {
            status,
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({
              errors: [{ message: 'The provided authorization grant is invalid, expired, or revoked', field: null }],
            }),
          },
    );
  });
  afterAll(() => api?.close());

  function notifier() {
    return notifyActivities({
      ...activityConfigFromEnv({}),
      uiUrl: 'http://ui:8233',
      sendgridApiUrl: api.url,
      redisUrl: process.env.RUNBOOK_TEST_REDIS_URL,
      env: {
        SENDGRID_API_KEY: API_KEY,
        EMAIL_FROM: 'OrqueTask <noreply@orquetask.example>',
        NOTIFICATION_RECIPIENTS: 'ops@orquetask.example,cto@orquetask.example',
      },
    });
  }

  it('posts one mail with both parts, the derived Message-ID and the API key; a retry finds it sent and posts nothing', async () => {
    status = 202;
    const report = deployReport('rolled_back', { workflowId: uniqueName('deploy-orquetask') });
    const request: NotifyRequest = { report, notify: SENDGRID };
    const env = new MockActivityEnvironment();

    const first = await env.run(notifier().notify, request);
    expect(first).toEqual({
      event: 'deploy.rolled_back',
      delivered: ['email-sendgrid'],
      skipped: false,
      alreadySent: [],
      ledger: 'redis',
    });
    const calls = api.requests.filter((r) => r.body.includes(report.workflowId));
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/v3/mail/send');
    expect(call.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(call.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(call.body);
    const key = `${report.workflowId}/run-1/deploy.rolled_back/email-sendgrid`;
    expect(body).toMatchObject({
      from: { email: 'noreply@orquetask.example', name: 'OrqueTask' },
      subject:
        '[runbook] almareia: deploy v1.4 ROLLED BACK — v1.4 rolled back to v1.3: health check /login answered 500',
      personalizations: [{ to: [{ email: 'ops@orquetask.example' }, { email: 'cto@orquetask.example' }] }],
      headers: { 'X-Runbook-Idempotency-Key': key },
      custom_args: { runbook_idempotency_key: key },
    });
    expect(body.headers['Message-ID']).toMatch(/^<runbook\.[0-9a-f]{32}@orquetask\.example>$/);
    expect(body.content.map((c: { type: string }) => c.type)).toEqual(['text/plain', 'text/html']);
    expect(body.content[0].value).toContain('What went wrong:');
    expect(body.content[1].value).toContain('<a href="http://ui:8233/namespaces/default/workflows/');

    const again = await env.run(notifier().notify, request);
    expect(again).toMatchObject({ delivered: ['email-sendgrid'], alreadySent: ['email-sendgrid'] });
    expect(api.requests.filter((r) => r.body.includes(report.workflowId))).toHaveLength(1);
  });

  it('does not send for an event the manifest does not list', async () => {
    const report = deployReport('succeeded', { workflowId: uniqueName('deploy-quiet') });
    const result = await new MockActivityEnvironment().run(notifier().notify, { report, notify: SENDGRID });
    expect(result).toEqual({ event: 'deploy.succeeded', delivered: [], skipped: true });
    expect(api.requests.filter((r) => r.body.includes(report.workflowId))).toHaveLength(0);
  });

  it('fails without retrying when SendGrid refuses the key, naming the variable and not its value', async () => {
    status = 401;
    const report = deployReport('rolled_back', { workflowId: uniqueName('deploy-badkey') });
    const error = await new MockActivityEnvironment()
      .run(notifier().notify, { report, notify: SENDGRID })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).message).toContain('SendGrid refused the API key in SENDGRID_API_KEY (401');
    expect((error as ApplicationFailure).message).not.toContain(API_KEY);
  });

  it('fails retryably when SendGrid has a server error', async () => {
    status = 503;
    const report = deployReport('rolled_back', { workflowId: uniqueName('deploy-sg-down') });
    const error = await new MockActivityEnvironment()
      .run(notifier().notify, { report, notify: SENDGRID })
      .catch((e: unknown) => e);
    expect((error as ApplicationFailure).nonRetryable).toBe(false);
    expect((error as ApplicationFailure).message).toContain('SendGrid answered 503');
  });
});
