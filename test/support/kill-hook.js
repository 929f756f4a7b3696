// Preloaded into a real worker process (NODE_OPTIONS=--require) by the kill matrix: SIGKILLs the process
// itself at one exact point of one activity, as a crash would, so every boundary can be hit on purpose.
// RUNBOOK_TEST_KILL = {"workflowId", "activityId", "when": "after" | "mid", "afterMs"?}
//   after: the activity did its work and returned, its result not yet reported to Temporal;
//   mid:   afterMs into the activity's first attempt (or as it returns, when it is quicker than that).
// Workflow tasks leave a killed worker's sticky queue after 1 s instead of 10 s, only to keep the matrix short.
const { setTimeout, clearTimeout } = require('node:timers');
const { Worker } = require('@temporalio/worker');

const spec = process.env.RUNBOOK_TEST_KILL ? JSON.parse(process.env.RUNBOOK_TEST_KILL) : undefined;
const die = () => process.kill(process.pid, 'SIGKILL');

function killInterceptor(context) {
  const { info } = context;
  const target =
    spec &&
    info.attempt === 1 &&
    info.workflowExecution &&
    info.workflowExecution.workflowId === spec.workflowId &&
    info.activityId === spec.activityId;
  return {
    inbound: {
      async execute(input, next) {
        if (!target) return next(input);
        const timer = spec.when === 'mid' ? setTimeout(die, spec.afterMs || 0) : undefined;
        const result = await next(input);
        if (timer) clearTimeout(timer);
        die();
        return result;
      },
    },
  };
}

const create = Worker.create.bind(Worker);
Worker.create = (options) =>
  create({
    ...options,
    stickyQueueScheduleToStartTimeout: '1s',
    interceptors: {
      ...options.interceptors,
      activity: [...((options.interceptors && options.interceptors.activity) || []), killInterceptor],
    },
  });
