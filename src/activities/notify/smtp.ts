import nodemailer from 'nodemailer';
import { ChannelError, settingFromEnv, type EmailContent, type EmailSettings, type SendReceipt } from './channels';

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  /** Where the credentials come from, for an error message: "SMTP_USER and SMTP_PASSWORD". */
  credentialsFrom: string;
}

const DEFAULTS = { hostEnv: 'SMTP_HOST', portEnv: 'SMTP_PORT', userEnv: 'SMTP_USER', passwordEnv: 'SMTP_PASSWORD' };

/** The SMTP server of an e-mail channel, from the variables it names (the Financial ETL's SMTP_* by default). */
export function smtpSettings(email: EmailSettings, env: NodeJS.ProcessEnv, where: string): SmtpSettings {
  const names = { ...DEFAULTS, ...email.smtp };
  const host = settingFromEnv(env, names.hostEnv, 'SMTP server for e-mail notifications', where);
  const portText = env[names.portEnv]?.trim() || '587';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ChannelError(`${names.portEnv} is '${portText}', not a port number; set it in ${where}`, true);
  const user = env[names.userEnv]?.trim() || undefined;
  return {
    host,
    port,
    secure: email.smtp?.secure ?? port === 465,
    user,
    password: user ? env[names.passwordEnv] : undefined,
    credentialsFrom: `${names.userEnv} and ${names.passwordEnv}`,
  };
}

/** Sends one mail; resolves once the server has accepted it for delivery (250 after DATA). */
export async function sendBySmtp(settings: SmtpSettings, mail: EmailContent): Promise<SendReceipt> {
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      headers: { 'X-Runbook-Idempotency-Key': mail.key },
    });
    return { providerId: typeof info.response === 'string' ? info.response : undefined };
  } catch (error) {
    throw smtpError(error as Error & { code?: string; responseCode?: number }, settings);
  } finally {
    transport.close();
  }
}

/** 5xx replies and bad credentials will not change on a retry; connection trouble and 4xx replies may. */
function smtpError(error: Error & { code?: string; responseCode?: number }, settings: SmtpSettings): ChannelError {
  const where = `SMTP ${settings.host}:${settings.port}`;
  if (error.code === 'EAUTH')
    return new ChannelError(
      `${where} refused the login of ${settings.user ?? '(no user)'}: ${error.message}; check ${settings.credentialsFrom} (an app password for Gmail)`,
      true,
    );
  const permanent = error.responseCode !== undefined && error.responseCode >= 500;
  return new ChannelError(`${where}: ${error.message}`, permanent);
}
