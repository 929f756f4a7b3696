import { backupActivities } from './backup';
import type { ActivityConfig } from './config';
import { manifestActivities } from './manifest';
import { notifyActivities } from './notify';

/** Every activity of the project, bound to the worker's configuration. */
export function createActivities(config: ActivityConfig) {
  return {
    ...manifestActivities(config),
    ...notifyActivities(config),
    ...backupActivities(config),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export { activityConfigFromEnv, type ActivityConfig } from './config';
