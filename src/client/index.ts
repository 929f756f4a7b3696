// The typed client library (package.json "main"): start, watch and list runs and schedules from code.
// The terminal CLI (src/cli) is built on it; nothing here prints.
export { connect, settingsFromEnv, type Connected, type TemporalSettings } from './connection';
export { RunFailedError, UnreachableError, UsageError } from './errors';
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
export {
  applySchedules,
  backfillSchedule,
  deleteSchedule,
  describeSchedule,
  listSchedules,
  pauseSchedule,
  triggerSchedule,
  unpauseSchedule,
  type ApplyOptions,
  type ScheduleChange,
  type ScheduleListing,
} from './schedules';
export { scheduleId } from '../common/names';
