import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../../src/devserver/ports';
import { waitFor } from './postgres';

export interface TestSmtpServer {
  host: string;
  port: number;
  /** Mails the server accepted (250 after DATA), parsed. */
  mails: ParsedMail[];
  /** Every DATA the server received, accepted or refused. */
  attempts(): number;
  waitForMails(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

/**
 * A real SMTP server in the test process (no TLS, no auth). With `refuseFirst: n` it answers the first n
 * messages with a temporary 451 after reading them, as a busy server does.
 */
export async function startSmtpServer(options: { refuseFirst?: number } = {}): Promise<TestSmtpServer> {
  const mails: ParsedMail[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        attempts += 1;
        if (attempts <= (options.refuseFirst ?? 0)) {
          const busy = Object.assign(new Error('mailbox busy, try again later'), { responseCode: 451 });
          callback(busy);
          return;
        }
        simpleParser(Buffer.concat(chunks))
          .then((mail) => {
            mails.push(mail);
            callback();
          })
          .catch((error: Error) => callback(error));
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port,
    mails,
    attempts: () => attempts,
    async waitForMails(count, timeoutMs = 30_000) {
      await waitFor(async () => {
        if (mails.length < count) throw new Error(`expected ${count} mail(s), got ${mails.length}`);
      }, timeoutMs);
      return mails;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
