import path from 'node:path';
import { createCgroup, joinCgroupArgv, runbookCgroupRoot } from './cgroups';
import { SERVICE_MARKER, type ProcessTree } from './tree';

/**
 * How a process service is started so that all of it can be found and stopped later, and so that it
 * outlives the worker that started it: a cgroup of its own beside (not under) the workers' cgroups, or
 * its marker where the host has no cgroup to give. It gets no parent-death signal.
 */
export function containService(
  name: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): { argv: string[]; env: NodeJS.ProcessEnv; tree: ProcessTree } {
  const root = runbookCgroupRoot();
  if (root) {
    const cgroup = path.join(root, 'services', name);
    createCgroup(cgroup);
    return { argv: joinCgroupArgv(cgroup, argv), env, tree: { cgroup } };
  }
  return { argv, env: { ...env, [SERVICE_MARKER]: name }, tree: { marker: { name: SERVICE_MARKER, value: name } } };
}
