import { createHash } from 'node:crypto';
import type { RunReport } from '../../common/progress';
import type { NotifyChannel } from '../../manifest/types';

export type EmailSettings = Extract<NotifyChannel, { email: unknown }>['email'];
export type WebhookSettings = Extract<NotifyChannel, { webhook: unknown }>['webhook'];

/**
 * A stable name for each channel of a manifest: its `name`, or its kind (email-smtp, email-sendgrid,
 * webhook-MONITORING_WEBHOOK_URL), numbered when two would share one. Part of the idempotency key.
 */
export function channelIds(channels: readonly NotifyChannel[]): string[] {
  const seen = new Map<string, number>();
  return channels.map((channel) => {
    const base =
      channel.name ?? ('email' in channel ? `email-${channel.email.via}` : `webhook-${channel.webhook.urlEnv}`);
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}-${count}`;
  });
}

/** One message of one run, event and channel: the same on every retry of the notify activity. */
export function idempotencyKey(
  report: Pick<RunReport, 'workflowId' | 'runId' | 'originalRunId'>,
  event: string,
  channel: string,
): string {
  // A reset run announces the same outcome under the same key: it is sent once.
  return `${report.workflowId}/${report.originalRunId ?? report.runId}/${event}/${channel}`;
}

/** The e-mail Message-ID derived from the key, so a resend (the crash window) is recognisably the same mail. */
export function messageIdFor(key: string, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'runbook.invalid';
  return `<runbook.${createHash('sha256').update(key).digest('hex').slice(0, 32)}@${domain}>`;
}

export const DEFAULT_RECIPIENTS_ENV = 'NOTIFICATION_RECIPIENTS';

/**
 * Recipients from the manifest's `to` and the comma-separated variable `toEnv` (NOTIFICATION_RECIPIENTS
 * when the channel names neither), without duplicates.
 */
export function recipients(settings: Pick<EmailSettings, 'to' | 'toEnv'>, env: NodeJS.ProcessEnv): string[] {
  const variable = settings.toEnv ?? (settings.to ? undefined : DEFAULT_RECIPIENTS_ENV);
  const fromEnv = variable ? (env[variable] ?? '').split(/[,;]/) : [];
  return [...new Set([...(settings.to ?? []), ...fromEnv].map((a) => a.trim()).filter(Boolean))];
}

/** A channel that did not take the message; `permanent` when only a change of settings can fix it. */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** A setting the channel cannot work without, read on the worker, or a permanent error naming it. */
export function settingFromEnv(env: NodeJS.ProcessEnv, name: string, purpose: string, where: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '')
    throw new ChannelError(`${name} is not set (${purpose}); set it in ${where} (this message was not sent)`, true);
  return value.trim();
}

/** What a provider answered when it accepted a message. */
export interface SendReceipt {
  providerId?: string;
}

/** One e-mail as the SMTP and SendGrid channels send it. */
export interface EmailContent {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string;
  key: string;
}
