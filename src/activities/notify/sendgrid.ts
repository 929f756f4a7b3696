import { Client } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';
import { ChannelError, settingFromEnv, type EmailContent, type EmailSettings, type SendReceipt } from './channels';

export interface SendgridSettings {
  apiKey: string;
  apiKeyEnv: string;
  /** The API's base URL; SendGrid's own when unset. */
  baseUrl?: string;
}

export function sendgridSettings(
  email: EmailSettings,
  env: NodeJS.ProcessEnv,
  where: string,
  baseUrl?: string,
): SendgridSettings {
  const apiKeyEnv = email.apiKeyEnv ?? 'SENDGRID_API_KEY';
  return {
    apiKey: settingFromEnv(env, apiKeyEnv, 'SendGrid API key for e-mail notifications', where),
    apiKeyEnv,
    baseUrl,
  };
}

/** Sends one mail through SendGrid's v3 mail-send API; resolves once SendGrid has accepted it (202). */
export async function sendBySendgrid(settings: SendgridSettings, mail: EmailContent): Promise<SendReceipt> {
  const client = new Client();
  client.setApiKey(settings.apiKey);
  // setApiKey picks the region's URL, so an override comes after it.
  if (settings.baseUrl) client.setDefaultRequest('baseUrl', settings.baseUrl);
  const service = new MailService();
  service.setClient(client);
  service.setTimeout(20_000);
  try {
    const [response] = await service.send({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      headers: { 'Message-ID': mail.messageId, 'X-Runbook-Idempotency-Key': mail.key },
      customArgs: { runbook_idempotency_key: mail.key },
    });
    const id = response.headers['x-message-id'];
    return { providerId: typeof id === 'string' ? id : undefined };
  } catch (error) {
    throw sendgridError(error as Error & { code?: number | string; response?: { body?: unknown } }, settings);
  }
}

/** Bad keys and refused requests stay refused; rate limits, server errors and the network may pass later. */
function sendgridError(
  error: Error & { code?: number | string; response?: { body?: unknown } },
  settings: SendgridSettings,
): ChannelError {
  const status = typeof error.code === 'number' ? error.code : undefined;
  if (status === undefined) return new ChannelError(`SendGrid could not be reached: ${error.message}`, false);
  const said = describeErrors(error.response?.body);
  if (status === 401 || status === 403)
    return new ChannelError(
      `SendGrid refused the API key in ${settings.apiKeyEnv} (${status}${said}); create a key with Mail Send permission`,
      true,
    );
  const permanent = status < 500 && status !== 408 && status !== 429;
  const hint = status === 400 ? '; check the sender (EMAIL_FROM must be a verified sender) and the recipients' : '';
  return new ChannelError(`SendGrid answered ${status}${said}${permanent ? hint : ''}`, permanent);
}

function describeErrors(body: unknown): string {
  const errors = (body as { errors?: Array<{ message?: string; field?: string }> } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return '';
  return `: ${errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')}`;
}
