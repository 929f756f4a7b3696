// Containment: no process Runbook starts outlives what started it (see docs/processes.md).
export { beginAttempt, endSpare, leaseFile, stopLeftover, workerId, type Attempt } from './attempts';
export { containService } from './services';
export { describeContainment, guardHostWorker, reapDeadWorkers } from './reaper';
export { identityOf, isAlive, isSameProcess, pause, procStat, type ProcessIdentity } from './proc';
export { isTreeRunning, killTree, signalTree, stopTree, treeMembers, trustedTree, type ProcessTree } from './tree';
