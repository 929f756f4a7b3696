// The typed client library (package.json "main"): what the CLI uses, for scripts that start and watch runs.
export { connect, settingsFromEnv, type Connected, type TemporalSettings } from './connection';
export { EXIT, RunFailedError, UnreachableError, UsageError } from './errors';
export {
  HISTORY_KINDS,
  OUTCOMES,
  RunAlreadyRunningError,
  Runs,
  reportFromFailure,
  visibilityQuery,
  workflowIdFor,
  type HistoryFilter,
  type RunDescription,
  type RunEnd,
  type RunInputs,
  type RunRef,
  type RunSummary,
  type StartableKind,
} from './runs';
export { createProgressView, type ProgressView } from './progress-view';
