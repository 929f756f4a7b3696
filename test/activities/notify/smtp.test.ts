import { ChannelError } from '../../../src/activities/notify/channels';
import { smtpSettings } from '../../../src/activities/notify/smtp';

const WHERE = "/srv/financial-etl/shared/.env or the worker's environment";

describe('SMTP channel settings', () => {
  it("reads the Financial ETL's SMTP_* variables by default, STARTTLS on 587 and TLS on 465", () => {
    const env = {
      SMTP_HOST: 'smtp.gmail.com',
      SMTP_PORT: '587',
      SMTP_USER: 'etl@empresa.com',
      SMTP_PASSWORD: 'app-password',
    };
    expect(smtpSettings({ via: 'smtp', apiKeyEnv: 'SENDGRID_API_KEY' }, env, WHERE)).toEqual({
      host: 'smtp.gmail.com',
      port: 587,
      secure: false,
      user: 'etl@empresa.com',
      password: 'app-password',
      credentialsFrom: 'SMTP_USER and SMTP_PASSWORD',
    });
    expect(
      smtpSettings({ via: 'smtp', apiKeyEnv: 'SENDGRID_API_KEY' }, { SMTP_HOST: 'mail', SMTP_PORT: '465' }, WHERE),
    ).toMatchObject({ port: 465, secure: true, user: undefined });
  });

  it('reads the variables the manifest names instead', () => {
    const email = {
      via: 'smtp' as const,
      apiKeyEnv: 'SENDGRID_API_KEY',
      smtp: {
        hostEnv: 'MAIL_HOST',
        portEnv: 'MAIL_PORT',
        userEnv: 'MAIL_USER',
        passwordEnv: 'MAIL_PASS',
        secure: true,
      },
    };
    expect(smtpSettings(email, { MAIL_HOST: 'relay', MAIL_PORT: '2525' }, WHERE)).toMatchObject({
      host: 'relay',
      port: 2525,
      secure: true,
      credentialsFrom: 'MAIL_USER and MAIL_PASS',
    });
  });

  it('names a missing host or a bad port and where to set it, as a permanent error', () => {
    const missing = (() => {
      try {
        smtpSettings({ via: 'smtp', apiKeyEnv: 'SENDGRID_API_KEY' }, {}, WHERE);
      } catch (error) {
        return error;
      }
    })() as ChannelError;
    expect(missing).toBeInstanceOf(ChannelError);
    expect(missing.permanent).toBe(true);
    expect(missing.message).toBe(
      `SMTP_HOST is not set (SMTP server for e-mail notifications); set it in ${WHERE} (this message was not sent)`,
    );
    expect(() =>
      smtpSettings({ via: 'smtp', apiKeyEnv: 'SENDGRID_API_KEY' }, { SMTP_HOST: 'h', SMTP_PORT: 'smtp' }, WHERE),
    ).toThrow(`SMTP_PORT is 'smtp', not a port number; set it in ${WHERE}`);
  });
});
