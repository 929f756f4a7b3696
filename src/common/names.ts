/**
 * What Runbook derives from an app's name and manifest, written once: where its files live on its host,
 * the ids of its runs and schedules, the task queue of a host, how a step names its host. Pure and
 * deterministic: workflows, activities, the client and the CLI all take these from here.
 */
import type { Manifest } from '../manifest/types';

/** App and host names: lowercase letters, digits and dashes (`financial-etl`, `web-1`). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

export function isName(text: string): boolean {
  return NAME_PATTERN.test(text);
}

/** A compact UTC timestamp for names: 20261123T224500Z. */
export function compactTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * Orders runs (releases, deploys) by when they ran: by the second their id (`<compact timestamp>-<8 hex>`)
 * begins with, then, within one second, by `madeAt` (ms) — never by the id's random end, which comes last only
 * to make the order total.
 */
export function compareRuns(a: { id: string; madeAt: number }, b: { id: string; madeAt: number }): number {
  const second = (id: string) => id.split('-')[0];
  return compareText(second(a.id), second(b.id)) || a.madeAt - b.madeAt || compareText(a.id, b.id);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- task queues and step names ------------------------------------------------------------------

/** Activities that touch an app's server run on that host's own queue, polled by the worker on that host. */
export function hostTaskQueue(host: string): string {
  return `runbook-host-${host}`;
}

/** How a step names its host when the app has several (`web-2: start services`); nothing for one host. */
export function hostPrefix(manifest: Pick<Manifest, 'hosts'>, host: string): string {
  return manifest.hosts.length > 1 ? `${host}: ` : '';
}

// ---- run and schedule ids ------------------------------------------------------------------------

/**
 * One deploy or rollback per app at a time: both use this id, and Temporal refuses a second start while
 * one runs. The lock cannot go stale: it is the running workflow itself.
 */
export function appLockWorkflowId(app: string): string {
  return `deploy-${app}`;
}

/** A backup run's id; a schedule gives the id without the stamp and Temporal appends the scheduled time. */
export function backupWorkflowId(app: string, target: string | undefined, stamp?: string): string {
  return `backup-${app}${target ? `-${target}` : ''}${stamp ? `-${stamp}` : ''}`;
}

/** A restore drill's run id; a schedule gives the id without the stamp and Temporal appends the scheduled time. */
export function drillWorkflowId(app: string, target: string | undefined, stamp?: string): string {
  return `drill-${app}${target ? `-${target}` : ''}${stamp ? `-${stamp}` : ''}`;
}

/** The one watcher of an app's schedules and backups (see WORKFLOW_TYPES.watch). */
export function watchWorkflowId(app: string): string {
  return `watch-${app}`;
}

export function restoreWorkflowId(app: string, stamp: string): string {
  return `restore-${app}-${stamp}`;
}

/** A job run's id; a schedule gives the id without the stamp and Temporal appends the scheduled time. */
export function jobWorkflowId(app: string, job: string, stamp?: string): string {
  return `job-${app}-${job}${stamp ? `-${stamp}` : ''}`;
}

/** The Temporal Schedule of a manifest's `schedules` entry. */
export function scheduleId(app: string, name: string): string {
  return `runbook-${app}-${name}`;
}

/** The Web UI page of a schedule. */
export function scheduleUrl(uiUrl: string, namespace: string, scheduleId: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/schedules/${encodeURIComponent(scheduleId)}`;
}

/** The Web UI page of one run. */
export function runUrl(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const base = `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

// ---- an app's files on its host ------------------------------------------------------------------

/**
 * Where an app's files live on its host.
 * releases strategy:  <root>/releases/<id>, <root>/current -> releases/<id>, <root>/shared, <root>/.runbook
 * in-place strategy:  <root> is the live folder itself; Runbook's own state, the deploy log included, sits
 *                     beside it in <root>.runbook, so restoring an archive of <root> never rewinds pid files,
 *                     step markers or the log.
 */
export interface AppPaths {
  root: string;
  releasesDir: string;
  current: string;
  sharedDir: string;
  /** Runbook's own state: pid files, step markers, snapshots. */
  stateDir: string;
  runDir: string;
  snapshotsDir: string;
  archiveDir: string;
  deployLog: string;
  /** Where in-place apps kept their deploy log before it moved beside the live folder (read, then moved). */
  formerDeployLog?: string;
}

type Layout = Pick<Manifest, 'root' | 'strategy' | 'snapshot'>;

export function appPaths(manifest: Layout): AppPaths {
  const root = manifest.root;
  const stateDir =
    manifest.strategy === 'in-place' ? `${root.replace(/\/+$/, '')}.runbook` : joinPath(root, '.runbook');
  return {
    root,
    releasesDir: joinPath(root, 'releases'),
    current: joinPath(root, 'current'),
    sharedDir: joinPath(root, 'shared'),
    stateDir,
    runDir: joinPath(stateDir, 'run'),
    snapshotsDir: joinPath(stateDir, 'snapshots'),
    archiveDir: manifest.snapshot.archiveDir ?? joinPath(stateDir, 'archives'),
    deployLog: joinPath(manifest.strategy === 'in-place' ? stateDir : root, 'deploy_log.jsonl'),
    ...(manifest.strategy === 'in-place' ? { formerDeployLog: joinPath(root, 'deploy_log.jsonl') } : {}),
  };
}

/** The folder of one release (releases strategy). */
export function releaseDir(manifest: Layout, releaseId: string): string {
  return joinPath(appPaths(manifest).releasesDir, releaseId);
}

/** Where a deploy's files go and its steps run: its release folder, or in place the live folder itself. */
export function deployDir(manifest: Layout, releaseId: string): string {
  return manifest.strategy === 'in-place' ? manifest.root : releaseDir(manifest, releaseId);
}

/** The folder the running version serves from. */
export function liveDir(manifest: Layout): string {
  return manifest.strategy === 'in-place' ? manifest.root : appPaths(manifest).current;
}

/** A manifest path: absolute as written, otherwise relative to `base` (default the live folder). */
export function resolveAppPath(manifest: Layout, file: string, base?: string): string {
  return file.startsWith('/') ? file : joinPath(base ?? liveDir(manifest), file);
}

/** POSIX path.join, which workflow code may not import: the parts joined by `/`, `.` and `..` resolved. */
export function joinPath(...parts: string[]): string {
  const absolute = parts[0]?.startsWith('/') ?? false;
  const segments: string[] = [];
  for (const segment of parts.join('/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') segments.push(segment);
    else if (segments.length > 0 && segments[segments.length - 1] !== '..') segments.pop();
    else if (!absolute) segments.push('..');
  }
  const joined = segments.join('/');
  return absolute ? `/${joined}` : joined || '.';
}
