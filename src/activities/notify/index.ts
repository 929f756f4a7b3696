import { Context, log } from '@temporalio/activity';
import { runUrl, scheduleUrl } from '../../common/names';
import { eventOf, selectedEvents } from '../../common/notify-events';
import type { RunReport } from '../../common/progress';
import type { Manifest, NotifyChannel } from '../../manifest/types';
import type { ActivityConfig } from '../config';
import { appEnvironment } from '../environment';
import { redact } from '../redact';
import {
  ChannelError,
  channelIds,
  DEFAULT_RECIPIENTS_ENV,
  idempotencyKey,
  messageIdFor,
  recipients,
  settingFromEnv,
  type SendReceipt,
} from './channels';
import { sentLedger, type LedgerEntry, type SentLedger } from './ledger';
import { composeMessage, type NotificationMessage } from './message';
import { sendBySendgrid, sendgridSettings } from './sendgrid';
import { sendBySmtp, smtpSettings } from './smtp';
import { jsonPayload, postWebhook, slackPayload } from './webhook';
import { failure } from '../../common/failures';

export { eventOf } from '../../common/notify-events';

export interface NotifyRequest {
  report: RunReport;
  notify: Manifest['notify'];
  /** The app's env section: channel settings (SMTP_HOST, SENDGRID_API_KEY...) are read from its env file too. */
  env?: Manifest['env'];
  /**
   * The events this report raises, most specific first; default `[eventOf(report)]`. A job raises
   * `job.summary` and, when a date failed, `job.failed`: one message goes out if `notify.on` selects any.
   */
  events?: string[];
  /** Link this schedule's page instead of the report's run (an alert about a slot that started no run). */
  scheduleId?: string;
  /**
   * What the message is about when that is not one run's event (a watcher's alert about one slot or one
   * target): its idempotency key is `<key>/<channel>`, the same whichever run of the watcher sends it.
   */
  key?: string;
  /** The n-th time a run raises the same event (a deploy waiting for a second decision): its own message. */
  occurrence?: number;
}

export interface NotifyResult {
  event: string;
  /** Channels that accepted the message (now or on an earlier attempt). */
  delivered: string[];
  /** Channels skipped because the manifest does not ask for this event. */
  skipped: boolean;
  /** Channels the sent ledger showed as done by an earlier attempt: not sent again. */
  alreadySent?: string[];
  /** Where sends are recorded: postgres, redis, or none (then a retry may send twice). */
  ledger?: string;
}

export function notifyActivities(config: ActivityConfig) {
  return {
    /**
     * Sends a run's message to each channel of the manifest that has not had it yet. Each message's
     * idempotency key (workflow id, run id, event, channel) is checked in the sent ledger before sending
     * and recorded right after the provider accepts it, so a retried attempt sends only what is missing.
     * Channels that fail make the attempt fail (retryable unless only a settings change can help) after
     * the others were tried.
     */
    async notify(request: NotifyRequest): Promise<NotifyResult> {
      const { report, notify } = request;
      const events = request.events ?? [eventOf(report)];
      const [event] = selectedEvents(notify.on, events);
      if (!event || notify.channels.length === 0) return { event: event ?? events[0], delivered: [], skipped: true };

      const context = Context.current();
      const message = composeMessage(
        report,
        event,
        request.scheduleId
          ? scheduleUrl(config.uiUrl, config.namespace, request.scheduleId)
          : runUrl(config.uiUrl, config.namespace, report.workflowId, report.runId),
      );
      const env = appEnvironment({ env: request.env ?? { required: [] } }, config.env);
      const where = request.env?.file ? `${request.env.file} or the worker's environment` : "the worker's environment";
      const ledger = sentLedger(config);
      if (ledger.kind === 'none')
        log.warn(
          'no RUNBOOK_DATABASE_URL or RUNBOOK_REDIS_URL on this worker: a retried notification may be sent twice',
        );

      const delivered: string[] = [];
      const alreadySent: string[] = [];
      const failures: Array<{ channel: string; error: string; permanent: boolean }> = [];
      const ids = channelIds(notify.channels);
      for (const [index, channel] of notify.channels.entries()) {
        const id = ids[index];
        const key = request.key
          ? `${request.key}/${id}`
          : idempotencyKey(report, request.occurrence ? `${event}#${request.occurrence}` : event, id);
        const entry = { key, workflowId: report.workflowId, runId: report.runId, event, channel: id };
        if (await wasSent(ledger, key)) {
          delivered.push(id);
          alreadySent.push(id);
          continue;
        }
        const secrets = channelSecrets(channel, env);
        let messageId: string | undefined;
        try {
          const sent = await deliver(channel, key, message, report, env, where, config);
          messageId = sent.messageId;
          delivered.push(id);
          await recordSent(ledger, { ...entry, messageId, providerId: sent.receipt.providerId });
        } catch (error) {
          const permanent = error instanceof ChannelError && error.permanent;
          const text = redact((error as Error).message, secrets);
          failures.push({ channel: id, error: text, permanent });
          log.warn('notification channel failed', {
            channel: id,
            event,
            error: text,
            permanent,
            attempt: context.info.attempt,
          });
          await ledger
            .recordFailure({ ...entry, messageId, error: text })
            .catch((e: Error) => log.warn('could not record a failed send', { error: e.message }));
        }
      }

      if (failures.length > 0) {
        throw failure(
          'NotificationFailed',
          `notification ${event} of ${report.workflowId} not delivered by ${failures.map((f) => `${f.channel} (${f.error})`).join('; ')}`,
          { final: failures.every((f) => f.permanent), details: [{ delivered, failures }] },
        );
      }
      return { event, delivered, skipped: false, alreadySent, ledger: ledger.kind };
    },
  };
}

async function deliver(
  channel: NotifyChannel,
  key: string,
  message: NotificationMessage,
  report: RunReport,
  env: NodeJS.ProcessEnv,
  where: string,
  config: ActivityConfig,
): Promise<{ receipt: SendReceipt; messageId?: string }> {
  if ('webhook' in channel) {
    const url = settingFromEnv(env, channel.webhook.urlEnv, 'webhook URL for notifications', where);
    const payload =
      channel.webhook.format === 'slack' ? slackPayload(report, message) : jsonPayload(report, message, key);
    return { receipt: await postWebhook(url, channel.webhook, payload, key) };
  }
  const email = channel.email;
  const to = recipients(email, env);
  if (to.length === 0)
    throw new ChannelError(
      `no recipients for e-mail notifications: set ${email.toEnv ?? DEFAULT_RECIPIENTS_ENV} in ${where} or email.to in the manifest`,
      true,
    );
  const from =
    email.from ??
    settingFromEnv(
      env,
      email.fromEnv ?? (email.via === 'smtp' ? 'SMTP_FROM' : 'EMAIL_FROM'),
      'sender address of e-mail notifications',
      where,
    );
  const mail = {
    from,
    to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: messageIdFor(key, from),
    key,
  };
  const receipt =
    email.via === 'smtp'
      ? await sendBySmtp(smtpSettings(email, env, where), mail)
      : await sendBySendgrid(sendgridSettings(email, env, where, config.sendgridApiUrl), mail);
  return { receipt, messageId: mail.messageId };
}

/**
 * Whether an earlier attempt sent this message. A ledger that cannot be read (the audit database or Redis is
 * down) must not cost the alert, which matters most at such a time: the message goes out, and a receiver
 * that already has it can drop it by its idempotency key or Message-ID.
 */
async function wasSent(ledger: SentLedger, key: string): Promise<boolean> {
  try {
    return await ledger.wasSent(key);
  } catch (error) {
    log.warn(`the ${ledger.kind} sent ledger cannot be read; sending anyway (a duplicate is possible)`, {
      key,
      error: (error as Error).message,
    });
    return false;
  }
}

/**
 * The provider has the message: from here a failure to record it must not fail the attempt, or the retry
 * would send it again. A few quick tries, then a warning.
 */
async function recordSent(ledger: SentLedger, entry: LedgerEntry & { providerId?: string }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ledger.recordSent(entry);
      return;
    } catch (error) {
      if (attempt >= 3) {
        log.warn('message sent but not recorded in the ledger; a later retry of this activity could send it again', {
          key: entry.key,
          error: (error as Error).message,
        });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** Values that must not appear in a failure message: passwords, API keys, webhook URLs (Slack's hold a token). */
function channelSecrets(channel: NotifyChannel, env: NodeJS.ProcessEnv): string[] {
  const names =
    'webhook' in channel
      ? [channel.webhook.urlEnv]
      : [channel.email.smtp?.passwordEnv ?? 'SMTP_PASSWORD', channel.email.apiKeyEnv ?? 'SENDGRID_API_KEY'];
  return names.map((n) => env[n]).filter((v): v is string => typeof v === 'string' && v.length >= 4);
}
