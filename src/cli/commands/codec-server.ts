import { Command, Option } from 'commander';
import type { Output } from '../output';
import { UsageError } from '../../client/errors';

export const CODEC_TOKEN_VARIABLE = 'RUNBOOK_CODEC_AUTH_TOKEN';
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

interface CodecServerFlags {
  host: string;
  port: string;
  corsOrigin: string[];
}

export function codecServerCommand(output: Output): Command {
  return new Command('codec-server')
    .description(
      "decode Runbook's encrypted payloads for the Temporal Web UI and the temporal CLI (same keys as the workers)",
    )
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8888')
    .addOption(
      new Option('--cors-origin <url>', "the Web UI's origin, allowed to call from the browser (repeatable)")
        .default([])
        .argParser((value: string, previous: string[]) => [...previous, new URL(value).origin]),
    )
    .addHelpText(
      'after',
      [
        '',
        `Keys: RUNBOOK_CODEC_KEY_ID and RUNBOOK_CODEC_KEY_<id>, as the workers have them. With ${CODEC_TOKEN_VARIABLE}`,
        'set, a request must carry the token: `Authorization: Bearer <token>` (temporal --codec-auth) or as the',
        "first path segment (the Web UI's codec endpoint http://host:8888/<token>). Listening beyond loopback",
        'needs a token. See docs/production.md.',
        '',
        'Examples:',
        '  $ runbook codec-server --cors-origin http://localhost:8233',
        '  $ temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888',
      ].join('\n'),
    )
    .action(async (flags: CodecServerFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new UsageError(`--port ${flags.port}: expected a port number`, 'e.g. --port 8888');
      const { AesGcmCodec, codecKeysFromEnv } = await import('../../client/codec');
      const { startCodecServer } = await import('../../client/codec-server');
      const keys = codecKeysFromEnv();
      if (!keys)
        throw new UsageError(
          'no payload keys: set RUNBOOK_CODEC_KEY_<id> (and the workers the same)',
          'see docs/production.md, "Encrypted payloads"',
        );
      const authToken = process.env[CODEC_TOKEN_VARIABLE] || undefined;
      if (!authToken && !LOOPBACK.has(flags.host))
        throw new UsageError(
          `--host ${flags.host} listens beyond this machine without a token`,
          `set ${CODEC_TOKEN_VARIABLE}, or keep --host 127.0.0.1`,
        );
      const server = await startCodecServer({
        codec: new AesGcmCodec(keys),
        host: flags.host,
        port,
        corsOrigins: flags.corsOrigin,
        authToken,
      });
      output.result(
        { url: server.url, keyIds: [...keys.keys.keys()], corsOrigins: flags.corsOrigin, token: Boolean(authToken) },
        () =>
          `codec server on ${server.url} (keys ${[...keys.keys.keys()].join(', ')}; CORS ${flags.corsOrigin.join(', ') || 'none'}; ${authToken ? 'token required' : 'no token'})`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
