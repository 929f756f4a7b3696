import { channelIds, idempotencyKey, messageIdFor, recipients } from '../../../src/activities/notify/channels';

describe('notification channels', () => {
  it('names channels stably, numbering two of a kind', () => {
    expect(
      channelIds([
        { email: { via: 'smtp', apiKeyEnv: 'SENDGRID_API_KEY' } },
        { webhook: { urlEnv: 'MONITORING_WEBHOOK_URL', format: 'json' } },
        { name: 'ops-slack', webhook: { urlEnv: 'SLACK_URL', format: 'slack' } },
        { email: { via: 'smtp', apiKeyEnv: 'SENDGRID_API_KEY' } },
      ]),
    ).toEqual(['email-smtp', 'webhook-MONITORING_WEBHOOK_URL', 'ops-slack', 'email-smtp-2']);
  });

  it('keys a message by run, event and channel, and derives the Message-ID from the key', () => {
    const key = idempotencyKey({ workflowId: 'deploy-almareia', runId: 'run-1' }, 'deploy.rolled_back', 'email-smtp');
    expect(key).toBe('deploy-almareia/run-1/deploy.rolled_back/email-smtp');
    const id = messageIdFor(key, 'Runbook <noreply@empresa.com>');
    expect(id).toMatch(/^<runbook\.[0-9a-f]{32}@empresa\.com>$/);
    expect(messageIdFor(key, 'noreply@empresa.com')).toBe(id);
    expect(messageIdFor(`${key}x`, 'noreply@empresa.com')).not.toBe(id);
  });

  it('reads recipients from the manifest and a comma-separated variable, NOTIFICATION_RECIPIENTS by default', () => {
    const env = { NOTIFICATION_RECIPIENTS: 'controller@empresa.com, manager@empresa.com,,', OPS: 'ops@empresa.com' };
    expect(recipients({}, env)).toEqual(['controller@empresa.com', 'manager@empresa.com']);
    expect(recipients({ to: ['cto@empresa.com'], toEnv: 'OPS' }, env)).toEqual(['cto@empresa.com', 'ops@empresa.com']);
    expect(recipients({ to: ['cto@empresa.com'] }, env)).toEqual(['cto@empresa.com']);
  });
});
