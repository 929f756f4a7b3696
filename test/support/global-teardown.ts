import { rmSync } from 'node:fs';
import { stopPostgres } from './postgres';
import { stopRedis } from './redis';
import { stopSeedServices } from './seed-services';

export default async function globalTeardown(): Promise<void> {
  const services = globalThis.__RUNBOOK_TEST_SERVICES__;
  if (!services) return;
  await Promise.allSettled([
    services.temporal.stop(),
    stopPostgres(services.postgres),
    stopRedis(services.redis),
    ...(services.seeds ? [stopSeedServices(services.seeds)] : []),
  ]);
  rmSync(services.stateDir, { recursive: true, force: true });
}
