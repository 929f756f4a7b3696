/**
 * What `runbook history` may filter on and the visibility query it becomes. Kept apart from runs.ts (and the
 * Temporal SDK it loads) because the CLI's help lists these values.
 */
import { SEARCH_ATTRIBUTE_NAMES } from '../common/constants';
import { WORKFLOW_TYPES } from '../common/contracts';
import { isName } from '../common/names';
import type { Outcome } from '../common/progress';
import { UsageError } from './errors';

export interface HistoryFilter {
  app?: string;
  /** An Outcome (succeeded, rolled_back, failed, cancelled, unreachable) or `running`. */
  outcome?: string;
  kind?: string;
  limit?: number;
}

export const OUTCOMES: readonly Outcome[] = ['succeeded', 'rolled_back', 'failed', 'cancelled', 'unreachable'];
/** The operations `runbook history` lists; read-only lookups (inspect, releases, backups) are left out. */
export const HISTORY_KINDS: readonly string[] = [
  WORKFLOW_TYPES.deploy,
  WORKFLOW_TYPES.rollback,
  WORKFLOW_TYPES.backup,
  WORKFLOW_TYPES.restore,
  WORKFLOW_TYPES.drill,
  WORKFLOW_TYPES.job,
];

/**
 * The visibility query of `runbook history`: Runbook's workflow types only, filtered by the App and Outcome
 * search attributes. Values are checked, not escaped, so a filter cannot change the query's meaning.
 */
export function visibilityQuery(filter: HistoryFilter): string {
  const clauses: string[] = [];
  if (filter.kind) {
    if (!HISTORY_KINDS.includes(filter.kind as never))
      throw new UsageError(`--kind '${filter.kind}' is not a run kind`, `use one of: ${HISTORY_KINDS.join(', ')}`);
    clauses.push(`WorkflowType = '${filter.kind}'`);
  } else {
    clauses.push(`WorkflowType IN (${HISTORY_KINDS.map((k) => `'${k}'`).join(', ')})`);
  }
  if (filter.app !== undefined) {
    if (!isName(filter.app))
      throw new UsageError(
        `--app '${filter.app}' is not a valid app name`,
        'app names are lowercase letters, digits and dashes, as in the manifest',
      );
    clauses.push(`${SEARCH_ATTRIBUTE_NAMES.app} = '${filter.app}'`);
  }
  if (filter.outcome !== undefined) {
    if (filter.outcome === 'running') clauses.push(`ExecutionStatus = 'Running'`);
    else if (OUTCOMES.includes(filter.outcome as Outcome))
      clauses.push(`${SEARCH_ATTRIBUTE_NAMES.outcome} = '${filter.outcome}'`);
    else
      throw new UsageError(
        `--outcome '${filter.outcome}' is not an outcome`,
        `use one of: ${[...OUTCOMES, 'running'].join(', ')}`,
      );
  }
  return clauses.join(' AND ');
}
