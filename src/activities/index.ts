import { auditActivities } from './audit';
import { backupActivities } from './backup';
import { bakeActivities } from './bake';
import type { ActivityConfig } from './config';
import { healthActivities } from './health';
import { imageActivities } from './images';
import { inPlaceActivities } from './inplace';
import { jobActivities } from './jobs';
import { manifestActivities } from './manifest';
import { notifyActivities } from './notify';
import { queueActivities } from './queues';
import { recordActivities } from './records';
import { releaseActivities } from './releases';
import { serviceActivities } from './services';
import { snapshotActivities } from './snapshots';
import { stepActivities } from './steps';
import { watchActivities } from './watch';

/** Every activity of the project, bound to the worker's configuration. */
export function createActivities(config: ActivityConfig) {
  return {
    ...manifestActivities(config),
    ...notifyActivities(config),
    ...stepActivities(config),
    ...releaseActivities(config),
    ...imageActivities(config),
    ...serviceActivities(config),
    ...healthActivities(config),
    ...bakeActivities(config),
    ...inPlaceActivities(config),
    ...snapshotActivities(config),
    ...recordActivities(config),
    ...auditActivities(config),
    ...jobActivities(config),
    ...backupActivities(config),
    ...watchActivities(config),
    ...queueActivities(config),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export { activityConfigFromEnv, type ActivityConfig } from './config';
