/**
 * Workflow time. Inside the Temporal workflow sandbox `Date` is replaced by the time of the current
 * workflow task, recorded in history, so reading it here is replay-safe; everything else calls this.
 */
export function workflowNow(): number {
  // eslint-disable-next-line no-restricted-properties
  return Date.now();
}

export function isoNow(): string {
  return new Date(workflowNow()).toISOString();
}
