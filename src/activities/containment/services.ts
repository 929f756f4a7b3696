import path from 'node:path';
import { createCgroup, joinCgroupArgv, runbookCgroupRoot } from './cgroups';
import { SERVICE_MARKER, unmarked, type ProcessTree } from './tree';

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
  const clean = unmarked(env) ?? {};
  if (root) {
    const cgroup = path.join(root, 'services', name);
    createCgroup(cgroup);
    return { argv: joinCgroupArgv(cgroup, argv), env: clean, tree: { cgroup } };
  }
  const marker = { name: SERVICE_MARKER, value: name } as const;
  return { argv, env: { ...clean, [SERVICE_MARKER]: name }, tree: { marker } };
}
