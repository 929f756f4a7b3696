/**
 * Notification events and how a manifest's `notify.on` selects them. Pure: the workflows use it to skip a
 * notification nobody asked for, the notify activity to decide what it sends.
 */
import type { RunReport } from './progress';

/** The event name of a report, as the manifest's `notify.on` lists them (deploy.rolled_back, job.failed). */
export function eventOf(report: RunReport): string {
  return `${report.kind}.${report.outcome}`;
}

/**
 * Whether one `notify.on` entry selects an event: a full name matches itself, a bare outcome
 * (`failed`, `succeeded`, `rolled_back`) matches that outcome of any kind (`failed` matches `job.failed`).
 */
export function selects(entry: string, event: string): boolean {
  if (entry === event) return true;
  return !entry.includes('.') && event.endsWith(`.${entry}`);
}

/** The events of a run that the manifest asks to hear about, in the order the run raised them. */
export function selectedEvents(on: readonly string[], events: readonly string[]): string[] {
  return events.filter((event) => on.some((entry) => selects(entry, event)));
}

/** A run that waits for an operator (deploy.waiting) is not over: its message tells that, not an outcome. */
export function isWaitingEvent(event: string): boolean {
  return event === 'waiting' || event.endsWith('.waiting');
}
