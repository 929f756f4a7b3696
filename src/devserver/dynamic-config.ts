/**
 * The server settings Runbook runs on: the dev server gets them as `--dynamic-config-value` flags, and the
 * cluster's file (deploy/temporal/dynamicconfig.yaml) holds the same values (a test keeps the two equal).
 */
export const RUNBOOK_DYNAMIC_CONFIG: Readonly<Record<string, boolean | number>> = {
  // Search attributes registered at start are readable by the first run that sets them.
  'system.forceSearchAttributesCacheRefreshOnRead': true,
  'limit.maxIDLength': 255,
  // Each hop of a run (an activity's completion to the next workflow task, a workflow task's command to the
  // activity's dispatch, a timer firing) goes through a history shard's queue reader, which loads at most this
  // many times a second. The default, 20, puts up to 50 ms on every hop once a burst is spent: a deploy's steps
  // then cost ~100 ms each, whatever they do. The reader only loads when tasks are waiting, so the higher cap
  // costs nothing while the server is idle.
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxPollRPS': 1000,
};

/** `temporal server start-dev` flags that apply the settings. */
export function dynamicConfigArgs(
  config: Readonly<Record<string, boolean | number>> = RUNBOOK_DYNAMIC_CONFIG,
): string[] {
  return Object.entries(config).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
}
