import { backfillLine, fixFor, judgeSlot, localSlot, type SlotFacts } from '../../src/common/schedule-slots';

const slot = '2026-11-24T05:00:00.000Z';
const facts = (extra: Partial<SlotFacts> = {}): SlotFacts => ({
  slot,
  deadline: '2026-11-24T06:00:00.000Z',
  paused: false,
  overlapPolicy: 'SKIP',
  missedCatchup: false,
  catchupWindow: '1d',
  ...extra,
});
const run = (status: string, extra = {}) => ({
  workflowId: 'backup-orquetask-database-2026-11-24T05:00:00Z',
  runId: 'r1',
  status,
  startTime: '2026-11-24T05:00:01.000Z',
  ...extra,
});
const after = '2026-11-24T06:00:05.000Z';
const before = '2026-11-24T05:30:00.000Z';

describe('judging a schedule slot', () => {
  it('is ok when its run succeeded, pending or running before the deadline', () => {
    expect(judgeSlot(facts({ run: run('COMPLETED', { closeTime: 'x' }) }), after).status).toBe('ok');
    expect(judgeSlot(facts(), before).status).toBe('pending');
    expect(judgeSlot(facts({ run: run('RUNNING') }), before).status).toBe('running');
  });

  it('names the reason of a slot without a successful run by its deadline', () => {
    const reason = (f: SlotFacts) => {
      const o = judgeSlot(f, after);
      return [o.status, o.reason, o.detail];
    };
    expect(reason(facts({ run: run('FAILED', { error: 'pg_dump: connection refused' }) }))).toEqual([
      'failed',
      'failed',
      'the run failed: pg_dump: connection refused',
    ]);
    expect(reason(facts({ run: run('TIMED_OUT', { error: 'timed out' }) }))[2]).toBe(
      'the run ended timed out: timed out',
    );
    expect(
      reason(
        facts({
          run: run('RUNNING', {
            waitingFor: { taskQueue: 'runbook-host-app-1', since: '2026-11-24T05:00:02Z', what: 'run dumpDatabase' },
          }),
        }),
      ),
    ).toEqual([
      'missed',
      'no-worker',
      'no worker polls task queue runbook-host-app-1: the run has waited since 2026-11-24T05:00:02Z for one to run dumpDatabase',
    ]);
    expect(
      reason(facts({ run: run('RUNNING', { retrying: { what: 'dump', attempt: 3, error: 'disk full' } }) })),
    ).toEqual([
      'missed',
      'running',
      'still running past the deadline 2026-11-24T06:00:00.000Z (started 2026-11-24T05:00:01.000Z); dump is on attempt 3 after: disk full',
    ]);
    expect(reason(facts({ paused: true, pauseNote: 'disk swap' }))).toEqual([
      'missed',
      'paused',
      'the schedule was paused (note: disk swap)',
    ]);
    expect(reason(facts({ overlapping: { workflowId: 'w-04', startTime: '2026-11-24T04:00:00Z' } }))[1]).toBe(
      'overlap',
    );
    expect(reason(facts({ missedCatchup: true }))[1]).toBe('catchup-window');
    expect(reason(facts())[1]).toBe('not-started');
  });

  it('waits 20 seconds before calling a task nobody took a missing worker', () => {
    const waiting = (since: string) =>
      judgeSlot(facts({ run: run('RUNNING', { waitingFor: { taskQueue: 'q', since, what: 'x' } }) }), after);
    expect(waiting('2026-11-24T06:00:00.000Z')).toMatchObject({
      status: 'running',
      detail: expect.stringMatching(/^waiting for a worker/),
    });
    expect(waiting('2026-11-24T05:59:40.000Z')).toMatchObject({
      status: 'missed',
      reason: 'no-worker',
      taskQueue: 'q',
    });
  });

  it('says how to fix it, ending with the exact backfill line of the slot', () => {
    expect(backfillLine('orquetask', 'nightly-backup', slot)).toBe(
      'runbook schedule backfill orquetask/nightly-backup --at 2026-11-24T05:00:00Z',
    );
    const paused = judgeSlot(facts({ paused: true }), after);
    expect(fixFor(paused, 'orquetask', 'nightly-backup')).toEqual([
      'unpause it: runbook schedule unpause orquetask/nightly-backup',
      'then run the missed slot: runbook schedule backfill orquetask/nightly-backup --at 2026-11-24T05:00:00Z',
    ]);
    expect(localSlot(slot, 'America/Sao_Paulo')).toBe('2026-11-24 02:00 (America/Sao_Paulo)');
  });
});
