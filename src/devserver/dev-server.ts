import { TestWorkflowEnvironment } from '@temporalio/testing';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { resolveTemporalCli } from './temporal-cli';
import { freePort } from './ports';
import { dynamicConfigArgs } from './dynamic-config';

export interface DevServerOptions {
  /** gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted. */
  uiPort?: number;
  /** Keep state in this SQLite file across restarts; in memory when omitted. */
  dbFilename?: string;
  namespace?: string;
  /** The Web UI decodes encrypted payloads through this codec server (`runbook codec-server`). */
  uiCodecEndpoint?: string;
  /** Server settings; Runbook's (the cluster's) when omitted. The bench passes {} to compare with Temporal's. */
  dynamicConfig?: Readonly<Record<string, boolean | number>>;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string;
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

/**
 * A real Temporal dev server (the Temporal CLI's `server start-dev`) with its Web UI, the project's search
 * attributes registered at start and the cluster's dynamic configuration.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const cli = resolveTemporalCli();
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli.kind === 'path' ? { type: 'existing-path', path: cli.path } : { type: 'cached-download' },
      ip: '127.0.0.1',
      port,
      ui: true,
      uiPort,
      namespace,
      dbFilename: options.dbFilename,
      searchAttributes: RUNBOOK_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
      extraArgs: [
        ...dynamicConfigArgs(options.dynamicConfig),
        ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
      ],
    },
  });
  return {
    address: `127.0.0.1:${port}`,
    namespace,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    env,
    stop: () => env.teardown(),
  };
}
