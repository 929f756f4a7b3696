/**
 * The typed client library of Runbook's runs: start a workflow by kind, watch its `progress` query, wait for
 * its RunReport, describe and list runs from visibility, and signal an approval gate. The CLI is one user;
 * scripts can import it too.
 */
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowExecutionInfo,
  type WorkflowExecutionStatusName,
  type WorkflowHandle,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import {
  type BackupInput,
  type DeployInput,
  type DrillInput,
  type JobInput,
  type RestoreInput,
  type RollbackInput,
  type UpdateOutcome,
} from '../common/contracts';
import {
  appLockWorkflowId,
  backupWorkflowId,
  drillWorkflowId,
  jobWorkflowId,
  restoreWorkflowId,
  runUrl,
  compactTimestamp,
} from '../common/names';
import {
  PROGRESS_QUERY,
  type Outcome,
  type Progress,
  type RunKind,
  type RunReport,
  type StepProgress,
} from '../common/progress';
import { ACTION, APP, OUTCOME, REF, RUNBOOK_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { badInputProblems, parseInput, WORKFLOW_INPUT_SCHEMAS } from '../common/workflow-inputs';
import { z } from 'zod';
import type * as workflows from '../workflows';
import type { TemporalSettings } from './connection';
import { UsageError } from './errors';
import { OUTCOMES, visibilityQuery, type HistoryFilter } from './history-query';

export { HISTORY_KINDS, OUTCOMES, visibilityQuery, type HistoryFilter } from './history-query';

/**
 * The workflows a client starts: every one but `backups` (read through its own command), `watch` (started by
 * `runbook schedule apply`) and `appLock` (internal).
 */
export type StartableKind = Exclude<keyof typeof WORKFLOW_INPUT_SCHEMAS, 'backups' | 'watch'>;

/** What each workflow takes: what its input schema accepts (src/common/workflow-inputs.ts, checked before starting). */
export type RunInputs = { [K in StartableKind]: z.input<(typeof WORKFLOW_INPUT_SCHEMAS)[K]> };

/** What each workflow returns, from its own signature. */
export type RunResults = { [K in StartableKind]: Awaited<ReturnType<(typeof workflows)[K]>> };

/** The result of a run of kind K, when K names a workflow; unknown for a run found by its id alone. */
export type ResultOf<K extends string> = K extends StartableKind ? RunResults[K] : unknown;

/** Where a run lives: enough to find it again and to link to it. */
export interface RunRef<K extends string = string> {
  kind: K;
  workflowId: string;
  runId: string;
  url: string;
}

/** How a run ended, from its result or from the RunReport its failure carries. */
export interface RunEnd<K extends string = string> extends RunRef<K> {
  status: WorkflowExecutionStatusName;
  outcome: Outcome;
  /** Every Runbook workflow but `inspect` returns (or fails with) a RunReport. */
  report?: RunReport;
  /** The plain result of a workflow that returns something other than a RunReport. */
  result?: ResultOf<K>;
  error?: string;
  /**
   * A cancelled run carries no report: its last steps (the undos it ran) and its memo's summary instead,
   * when a worker answers the query of the closed run.
   */
  steps?: StepProgress[];
  summary?: string;
}

export interface RunSummary extends RunRef {
  status: WorkflowExecutionStatusName;
  app?: string;
  ref?: string;
  /** The Outcome search attribute the workflow sets when it ends. */
  outcome?: string;
  startTime: string;
  closeTime?: string;
  /** The one-line summary from the memo, when the workflow wrote one. */
  summary?: string;
}

export interface RunDescription extends RunSummary {
  taskQueue: string;
  /** Live steps of a running run (the `progress` query). */
  progress?: Progress;
  /** How a closed run ended. */
  end?: RunEnd;
}

/** A start refused because a run with the same workflow id runs: for deploy and rollback, the app's lock. */
export class RunAlreadyRunningError extends UsageError {
  constructor(
    readonly running: RunRef,
    /** What runs: "deploy v3 since 2026-…Z, started by 4242@build-01". */
    readonly detail: string,
    lock: boolean,
  ) {
    super(
      `${running.workflowId} is already running (${detail})${lock ? '; one deploy or rollback per app at a time' : ''}`,
      `wait for it to end (runbook status ${running.workflowId}, or deploy with --wait-lock); it is at ${running.url}`,
    );
  }
}

/** A workflow id suffix that sorts by time and reads as one: 20250131T070000Z. */
export function runStamp(now: Date): string {
  return compactTimestamp(now.getTime());
}

/** Kinds whose runs are on-call's business: they carry the App/Action search attributes from the start. */
const RECORDED_KINDS: readonly StartableKind[] = ['deploy', 'rollback', 'backup', 'restore', 'drill', 'job'];

/** The workflow id a run of this kind gets; deploy and rollback share the app's lock id. */
export function workflowIdFor<K extends StartableKind>(kind: K, input: RunInputs[K], now: Date): string {
  const stamp = runStamp(now);
  switch (kind) {
    case 'deploy':
    case 'rollback':
      return appLockWorkflowId(input.app);
    case 'backup':
      return backupWorkflowId(input.app, (input as BackupInput).target, stamp);
    case 'restore':
      return restoreWorkflowId(input.app, stamp);
    case 'drill':
      return drillWorkflowId(input.app, (input as DrillInput).target, stamp);
    case 'job':
      return jobWorkflowId(input.app, (input as JobInput).job, stamp);
    default:
      // Read-only lookups may run twice in a second.
      return `${kind}-${input.app}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
  }
}

/** The Web UI's summary line of a run, set at start so the run list reads before the run ends. */
export function startSummary<K extends StartableKind>(kind: K, input: RunInputs[K]): string {
  switch (kind) {
    case 'deploy':
      return `deploy ${input.app} ${(input as DeployInput).ref}`;
    case 'rollback':
      return `rollback ${input.app}${(input as RollbackInput).to ? ` to ${(input as RollbackInput).to}` : ''}`;
    case 'backup':
      return `backup ${input.app}${(input as BackupInput).target ? ` ${(input as BackupInput).target}` : ''}`;
    case 'drill':
      return `drill ${input.app}${(input as DrillInput).target ? ` ${(input as DrillInput).target}` : ''}`;
    case 'restore':
      return `restore ${input.app} from ${(input as RestoreInput).backup}${(input as RestoreInput).scratch ? ' (scratch)' : ''}`;
    case 'job': {
      const job = input as JobInput;
      const when = job.from ? ` ${job.from}..${job.to}` : job.date ? ` ${job.date}` : '';
      return `job ${input.app} ${job.job}${when}${job.mode ? ` (${job.mode})` : ''}`;
    }
    default:
      return `${kind} ${input.app}`;
  }
}

/** The workflow's own input check, so a run it would refuse is never started: a usage error (exit 2) instead. */
export function checkInput(kind: StartableKind, input: unknown): void {
  try {
    parseInput(WORKFLOW_INPUT_SCHEMAS[kind], input, kind);
  } catch (error) {
    const problems = badInputProblems(error);
    if (!problems) throw error;
    throw new UsageError(
      `${kind} input refused: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      'fix the named arguments and run again',
    );
  }
}

/** The RunReport a failed or rolled-back run carries as its failure's first detail, if it is one. */
export function reportFromFailure(error: unknown): RunReport | undefined {
  for (let cause = error; cause instanceof Error; cause = (cause as { cause?: unknown }).cause) {
    if (cause instanceof ApplicationFailure && isRunReport(cause.details?.[0])) return cause.details[0] as RunReport;
  }
  return undefined;
}

/** What marks a workflow's result or failure detail as a RunReport (other fields are the workflow's own). */
const runReportShape = z.looseObject({
  kind: z.string(),
  outcome: z.enum(OUTCOMES),
  summary: z.string(),
  steps: z.array(z.looseObject({ name: z.string(), status: z.string() })),
});

export function isRunReport(value: unknown): value is RunReport {
  return runReportShape.safeParse(value).success;
}

/** The innermost message of a workflow failure: the one a person can act on. */
export function failureText(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  for (let cause = error; cause instanceof Error; cause = (cause as { cause?: unknown }).cause) {
    if (cause instanceof TerminatedFailure)
      return `terminated${cause.message && cause.message !== 'Workflow execution terminated' ? `: ${cause.message}` : ''}`;
    if (cause instanceof TimeoutFailure) return `timed out (${cause.timeoutType ?? 'workflow timeout'})`;
    if (cause.message) message = cause.message;
  }
  return message;
}

export class Runs {
  constructor(
    readonly client: Client,
    readonly settings: TemporalSettings,
    private readonly now: () => Date = () => new Date(),
  ) {}

  url(workflowId: string, runId?: string): string {
    return runUrl(this.settings.uiUrl, this.settings.namespace, workflowId, runId);
  }

  /**
   * Starts a run on the orchestration task queue. A deploy or rollback while another one of the same app
   * runs is refused by Temporal (same workflow id): that becomes RunAlreadyRunningError naming the running one.
   */
  async start<K extends StartableKind>(kind: K, input: RunInputs[K]): Promise<RunRef<K>> {
    checkInput(kind, input);
    const workflowId = workflowIdFor(kind, input, this.now());
    const searchAttributes: SearchAttributePair[] = [];
    if (RECORDED_KINDS.includes(kind))
      searchAttributes.push({ key: APP, value: input.app }, { key: ACTION, value: kind });
    if (kind === 'deploy') searchAttributes.push({ key: REF, value: (input as DeployInput).ref });
    try {
      const handle = await this.client.workflow.start(kind, {
        taskQueue: this.settings.taskQueue,
        workflowId,
        args: [input],
        ...(searchAttributes.length > 0 ? { typedSearchAttributes: searchAttributes } : {}),
        staticSummary: startSummary(kind, input),
      });
      return {
        kind,
        workflowId,
        runId: handle.firstExecutionRunId,
        url: this.url(workflowId, handle.firstExecutionRunId),
      };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError)
        throw await this.alreadyRunning(workflowId, kind === 'deploy' || kind === 'rollback');
      // The server's reason is in the cause: "Namespace X has no mapping defined for search attribute App" (SQL
      // visibility), "search attribute App is not defined" (Elasticsearch).
      const reason =
        error instanceof Error ? `${error.message}\n${(error.cause as Error | undefined)?.message ?? ''}` : '';
      const missing =
        /search attribute .* (is not defined|not found)|unknown search attribute|no mapping defined for search attribute .*/i.exec(
          reason,
        );
      if (missing)
        throw new UsageError(
          `the Temporal namespace '${this.settings.namespace}' lacks Runbook's search attributes (${missing[0]})`,
          `register them once: ${RUNBOOK_SEARCH_ATTRIBUTES.map(
            ({ name }) => `temporal operator search-attribute create --name ${name} --type Keyword`,
          ).join('; ')}`,
        );
      throw error;
    }
  }

  private async alreadyRunning(workflowId: string, lock: boolean): Promise<RunAlreadyRunningError> {
    const running = await this.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    const runId = running?.runId ?? '';
    const ref = running?.typedSearchAttributes.get(REF);
    const by = runId ? await this.startedBy(workflowId, runId) : undefined;
    const detail = running
      ? `${running.type}${ref ? ` ${ref}` : ''} since ${running.startTime.toISOString()}${by ? `, started by ${by}` : ''}`
      : 'started just now';
    return new RunAlreadyRunningError(
      { kind: running?.type ?? 'deploy', workflowId, runId, url: this.url(workflowId, runId || undefined) },
      detail,
      lock,
    );
  }

  /** Who started a run: the client identity in its first event (e.g. 4242@build-01), when the server has it. */
  private async startedBy(workflowId: string, runId: string): Promise<string | undefined> {
    try {
      const page = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.settings.namespace,
        execution: { workflowId, runId },
        maximumPageSize: 1,
      });
      return page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.identity || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Starts a run; when its workflow id is taken (the app's deploy lock), waits for the running one to end and
   * tries again, telling `onWait` whom it waits for each time.
   */
  async startWhenFree<K extends StartableKind>(
    kind: K,
    input: RunInputs[K],
    onWait: (running: RunAlreadyRunningError) => void,
  ): Promise<RunRef<K>> {
    for (;;) {
      try {
        return await this.start(kind, input);
      } catch (error) {
        if (!(error instanceof RunAlreadyRunningError)) throw error;
        onWait(error);
        await this.result(error.running).catch(() => undefined);
      }
    }
  }

  private handle(run: Pick<RunRef, 'workflowId' | 'runId'>): WorkflowHandle {
    return this.client.workflow.getHandle(run.workflowId, run.runId || undefined);
  }

  /** The run's live steps, or undefined when no worker answers in time or the workflow has no such query. */
  async progress(run: Pick<RunRef, 'workflowId' | 'runId'>, timeoutMs = 5_000): Promise<Progress | undefined> {
    const poll = await this.poll(run, timeoutMs);
    return 'progress' in poll ? poll.progress : undefined;
  }

  /**
   * One `progress` query: the steps, or no answer in time (no worker polls the task queue), or no such query
   * (also when `signal` aborted it).
   */
  async poll(
    run: Pick<RunRef, 'workflowId' | 'runId'>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ progress: Progress } | { unanswered: true } | { unavailable: true }> {
    const deadline = Date.now() + timeoutMs;
    const query = () => this.client.withDeadline(deadline, () => this.handle(run).query<Progress>(PROGRESS_QUERY));
    try {
      return { progress: await (signal ? this.client.withAbortSignal(signal, query) : query()) };
    } catch (error) {
      // gRPC DEADLINE_EXCEEDED (wrapped in a ServiceError): the server held the query for a worker that never came.
      const code = (error as { code?: number }).code ?? (error as { cause?: { code?: number } }).cause?.code;
      return code === 4 || Date.now() >= deadline ? { unanswered: true } : { unavailable: true };
    }
  }

  /** Waits for the run to close and says how it ended; never throws for a failed run. */
  async result<K extends string>(run: RunRef<K>): Promise<RunEnd<K>> {
    const handle = this.handle(run);
    try {
      const result = (await handle.result()) as ResultOf<K> | RunReport;
      const report = isRunReport(result) ? result : undefined;
      return {
        ...run,
        status: 'COMPLETED',
        outcome: report?.outcome ?? 'succeeded',
        ...(report ? { report } : { result: result as ResultOf<K> }),
      };
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      const report = reportFromFailure(error);
      const status: WorkflowExecutionStatusName =
        error.cause instanceof TerminatedFailure
          ? 'TERMINATED'
          : error.cause instanceof TimeoutFailure
            ? 'TIMED_OUT'
            : error.cause instanceof CancelledFailure
              ? 'CANCELLED'
              : 'FAILED';
      const outcome: Outcome = report?.outcome ?? (status === 'CANCELLED' ? 'cancelled' : 'failed');
      const end: RunEnd<K> = {
        ...run,
        status,
        outcome,
        ...(report ? { report } : {}),
        error: report?.error ?? failureText(error),
      };
      return status === 'CANCELLED' && !report ? this.cancelledEnd(end) : end;
    }
  }

  /** What a cancelled run did before it ended (its undos), from the closed run's query and memo. */
  private async cancelledEnd<K extends string>(end: RunEnd<K>): Promise<RunEnd<K>> {
    const [progress, description] = await Promise.all([
      this.progress(end, 5_000),
      this.handle(end)
        .describe()
        .catch(() => undefined),
    ]);
    const summary = description?.memo?.summary;
    return {
      ...end,
      ...(progress ? { steps: progress.steps } : {}),
      ...(typeof summary === 'string' ? { summary, error: summary } : {}),
    };
  }

  /**
   * Polls the `progress` query until the run closes, handing every snapshot to `onProgress`, then returns
   * how it ended. The end is awaited (a long poll of the history), not found by the next poll: the watch
   * returns as soon as the run closes. The last snapshot is the report's steps, so a watcher always sees the
   * final state.
   */
  async watch<K extends string>(
    run: RunRef<K>,
    onProgress: (progress: Progress) => void,
    intervalMs = 500,
    onUnanswered?: () => void,
  ): Promise<RunEnd<K>> {
    let end: RunEnd<K> | undefined;
    let failure: unknown;
    // A query still in flight when the run closes is cancelled: the server would hold it until a worker
    // answers or its deadline passes, and the open call would keep the CLI from exiting that long.
    // (One controller per query: the SDK adds an abort listener to the signal of every call it makes.)
    let inFlight: AbortController | undefined;
    const closed = this.result(run)
      .then(
        (value) => void (end = value),
        (error: unknown) => void (failure = error ?? new Error('watching the run failed')),
      )
      .finally(() => inFlight?.abort());
    let query: Promise<unknown> = Promise.resolve();
    let warned = false;
    while (!end && !failure) {
      inFlight = new AbortController();
      // The end wins over a query still in flight: a closed run's query may wait for a worker to replay it.
      const polling = this.poll(run, Math.max(intervalMs * 4, 2_000), inFlight.signal);
      query = polling;
      const poll = await Promise.race([polling, closed.then(() => undefined)]);
      if (!poll) break;
      if ('progress' in poll && !end) onProgress(poll.progress);
      if ('unanswered' in poll && !end && !warned) {
        warned = true;
        onUnanswered?.();
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, intervalMs)))]);
      clearTimeout(timer); // a pending timer would hold the CLI's exit back
    }
    await query; // cancelled by now: no call outlives the watch
    if (failure) throw failure;
    const finished = end as RunEnd<K>;
    if (finished.report)
      onProgress({
        kind: finished.report.kind,
        app: finished.report.app,
        state: finished.report.outcome,
        steps: finished.report.steps,
      });
    else if (finished.steps)
      onProgress({ kind: finished.kind as RunKind, app: '', state: finished.outcome, steps: finished.steps });
    return finished;
  }

  /** Everything the CLI's `status` prints: visibility facts, live steps while running, the end when closed. */
  async describe(workflowId: string): Promise<RunDescription> {
    let description;
    try {
      description = await this.client.workflow.getHandle(workflowId).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError)
        throw new UsageError(
          `no run with workflow id '${workflowId}' in namespace '${this.settings.namespace}'`,
          'list recent runs with `runbook history`',
        );
      throw error;
    }
    const summary = this.summarize(description);
    const run = { kind: summary.kind, workflowId, runId: description.runId, url: summary.url };
    if (description.status.name === 'RUNNING') {
      const progress = await this.progress(run);
      return { ...summary, taskQueue: description.taskQueue, ...(progress ? { progress } : {}) };
    }
    return { ...summary, taskQueue: description.taskQueue, end: await this.result(run) };
  }

  /** Runs from visibility, newest first. Visibility lags a moment behind the runs themselves. */
  async list(filter: HistoryFilter): Promise<RunSummary[]> {
    const limit = filter.limit ?? 20;
    const runs: RunSummary[] = [];
    if (limit <= 0) return runs;
    for await (const info of this.client.workflow.list({
      query: visibilityQuery(filter),
      pageSize: Math.min(limit, 100),
    })) {
      runs.push(this.summarize(info));
      if (runs.length >= limit) break;
    }
    return runs;
  }

  /**
   * Asks a running run to stop: Temporal cancellation, which a deploy answers by undoing what it did first.
   * Refuses a run that is not running.
   */
  async cancel(workflowId: string): Promise<RunRef> {
    const run = await this.describe(workflowId);
    if (run.status !== 'RUNNING')
      throw new UsageError(
        `${workflowId} is not running (${run.status.toLowerCase()}${run.outcome ? `, ${run.outcome}` : ''}); there is nothing to cancel`,
        `see what happened with \`runbook status ${workflowId}\``,
      );
    await this.client.workflow.getHandle(workflowId, run.runId).cancel();
    return { kind: run.kind, workflowId, runId: run.runId, url: run.url };
  }

  /**
   * Tells a running run what an operator decided (approve, abort…) as a Temporal Update and returns what it
   * did. A run that is not running, or not waiting for this decision now, refuses it: a UsageError with the
   * run's own reason. Waits at most `timeoutMs` for a worker to take it.
   */
  async update(
    workflowId: string,
    update: string,
    args: unknown[] = [],
    timeoutMs = 30_000,
  ): Promise<{ run: RunSummary; outcome: UpdateOutcome }> {
    const run = await this.describe(workflowId);
    if (run.status !== 'RUNNING')
      throw new UsageError(
        `${workflowId} is not running (${run.status.toLowerCase()}${run.outcome ? `, ${run.outcome}` : ''}); there is nothing to ${update}`,
        `see what happened with \`runbook status ${workflowId}\``,
      );
    const handle = this.client.workflow.getHandle(workflowId, run.runId);
    try {
      const outcome = await this.client.withDeadline(Date.now() + timeoutMs, () =>
        args.length > 0
          ? handle.executeUpdate<UpdateOutcome, [unknown, ...unknown[]]>(update, {
              args: args as [unknown, ...unknown[]],
            })
          : handle.executeUpdate<UpdateOutcome, []>(update),
      );
      return { run, outcome };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        const reason = failureText(error.cause ?? error);
        throw new UsageError(
          /no registered handler|unknown update/i.test(reason)
            ? `${workflowId} (a ${run.kind} run) does not take ${update}`
            : `${update} refused: ${reason}`,
          `see where the run is with \`runbook status ${workflowId}\``,
        );
      }
      if (error instanceof WorkflowNotFoundError)
        throw new UsageError(`${workflowId} ended before it took ${update}`, `runbook status ${workflowId}`);
      if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
        throw new Error(
          `no worker took ${update} for ${workflowId} within ${Math.round(timeoutMs / 1000)}s (task queue ${run.taskQueue}); it may still apply when one polls: check with runbook status ${workflowId}`,
          { cause: error },
        );
      throw error;
    }
  }

  private summarize(info: WorkflowExecutionInfo | Awaited<ReturnType<WorkflowHandle['describe']>>): RunSummary {
    const attributes = info.typedSearchAttributes;
    const memoSummary = info.memo?.summary;
    const app = attributes.get(APP);
    const ref = attributes.get(REF);
    const outcome = attributes.get(OUTCOME);
    return {
      kind: info.type,
      workflowId: info.workflowId,
      runId: info.runId,
      url: this.url(info.workflowId, info.runId),
      status: info.status.name,
      ...(app ? { app } : {}),
      ...(ref ? { ref } : {}),
      ...(outcome ? { outcome } : {}),
      startTime: info.startTime.toISOString(),
      ...(info.closeTime ? { closeTime: info.closeTime.toISOString() } : {}),
      ...(typeof memoSummary === 'string' ? { summary: memoSummary } : {}),
    };
  }
}
