export { DURATION_PATTERN, durationMs, parseDuration } from '../common/duration';
