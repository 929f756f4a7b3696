/*
 * In-process hooks for what the watcher finds, so a worker's metrics (a Prometheus counter of missed
 * schedules, for example) can count them without the watcher knowing about metrics. A listener that throws
 * is logged by the caller's activity, never failing it.
 */

export interface MissedScheduleEvent {
  app: string;
  schedule: string;
  /** The slot's time (ISO). */
  slot: string;
  /** paused, overlap, no-worker, failed, running, catchup-window, not-started. */
  reason: string;
}

type Listener = (event: MissedScheduleEvent) => void;

const listeners = new Set<Listener>();

/** Calls `listener` for every missed slot this worker process records; returns the unsubscribe function. */
export function onMissedSchedule(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function reportMissedSchedule(event: MissedScheduleEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // Metrics must never fail the watcher.
    }
  }
}
