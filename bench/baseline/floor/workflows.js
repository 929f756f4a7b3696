// The floor under a deploy's per-step cost: a bare workflow running `steps` empty activities one after the
// other on a separate host task queue, as Runbook's deploy runs each step on the app's host queue.
'use strict';
const { proxyActivities } = require('@temporalio/workflow');

async function bareSteps({ steps, hostQueue }) {
  const { noop } = proxyActivities({ taskQueue: hostQueue, startToCloseTimeout: '1 minute' });
  for (let i = 0; i < steps; i++) await noop(i);
  return steps;
}

module.exports = { bareSteps };
