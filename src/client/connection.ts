import { Client, Connection } from '@temporalio/client';
import {
  DEFAULT_NAMESPACE,
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_UI_URL,
  ORCHESTRATION_TASK_QUEUE,
} from '../common/constants';
import { UnreachableError } from './errors';

/** Where the CLI and the client library find Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_UI_URL. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  uiUrl: string;
  taskQueue: string;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  return {
    address: env.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE,
    uiUrl: env.TEMPORAL_UI_URL ?? DEFAULT_UI_URL,
    taskQueue: env.RUNBOOK_TASK_QUEUE ?? ORCHESTRATION_TASK_QUEUE,
  };
}

export interface Connected {
  client: Client;
  settings: TemporalSettings;
  close(): Promise<void>;
}

/** Connects, or fails with UnreachableError (exit 3) naming the address tried. */
export async function connect(settings: TemporalSettings = settingsFromEnv(), timeoutMs = 5_000): Promise<Connected> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: timeoutMs });
    await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({}));
  } catch (error) {
    throw new UnreachableError(settings.address, error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
  return {
    client: new Client({ connection, namespace: settings.namespace }),
    settings,
    close: () => connection.close(),
  };
}
