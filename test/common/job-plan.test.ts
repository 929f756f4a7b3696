import {
  defaultJobDate,
  jobActivityPolicy,
  MAX_JOB_DATES,
  resolveDates,
  resolveMode,
  resolveParams,
} from '../../src/common/job-plan';

const processor = { name: 'daily-processor', modes: ['manual', 'auto'], defaultMode: 'auto' };

describe('job plan: dates', () => {
  it('uses one date, an inclusive range, or the default date', () => {
    expect(resolveDates({ date: '2025-12-01' }, '2026-01-08')).toEqual(['2025-12-01']);
    expect(resolveDates({ from: '2025-12-01', to: '2025-12-03' }, '2026-01-08')).toEqual([
      '2025-12-01',
      '2025-12-02',
      '2025-12-03',
    ]);
    expect(resolveDates({}, '2026-01-08')).toEqual(['2026-01-08']);
    expect(defaultJobDate('2026-01-08', 'today')).toBe('2026-01-08');
    expect(defaultJobDate('2026-01-01', 'yesterday')).toBe('2025-12-31');
  });

  it('names the field of a bad date or range', () => {
    expect(() => resolveDates({ date: '01/12/2025' }, '2026-01-08')).toThrow(
      "date: '01/12/2025' is not a date; write dates as YYYY-MM-DD, e.g. 2025-01-31",
    );
    expect(() => resolveDates({ date: '2025-12-01', from: '2025-12-01' }, '2026-01-08')).toThrow(
      'date: give either date, or from and to, not both',
    );
    expect(() => resolveDates({ from: '2025-12-01' }, '2026-01-08')).toThrow(
      'to: a range needs both from and to (from is 2025-12-01)',
    );
    expect(() => resolveDates({ from: '2025-12-05', to: '2025-12-01' }, '2026-01-08')).toThrow(
      'to: the range ends (2025-12-01) before it starts (2025-12-05); swap from and to',
    );
    expect(() => resolveDates({ from: '2020-01-01', to: '2025-01-01' }, '2026-01-08')).toThrow(
      `more than ${MAX_JOB_DATES} in one run`,
    );
  });
});

describe('job plan: mode, parameters and limits', () => {
  it('takes the requested mode or the default, and refuses one the job does not have', () => {
    expect(resolveMode(processor, 'manual')).toBe('manual');
    expect(resolveMode(processor, undefined)).toBe('auto');
    expect(() => resolveMode(processor, 'turbo')).toThrow(
      "mode: 'turbo' is not a mode of the job daily-processor; expected one of manual, auto",
    );
    expect(() => resolveMode({ ...processor, defaultMode: undefined }, undefined)).toThrow(
      'mode: the job daily-processor needs a mode: one of manual, auto',
    );
    expect(resolveMode({ name: 'rotate-logs' }, undefined)).toBeUndefined();
  });

  it('applies parameter defaults and refuses unknown, missing and malformed values', () => {
    const job = {
      name: 'rotate-secrets',
      params: {
        tenantId: { required: true, pattern: '[0-9]+', description: 'the tenant to rotate' },
        keep: { required: false, default: '3' },
        note: { required: false },
      },
    };
    expect(resolveParams(job, { tenantId: '42' })).toEqual({ tenantId: '42', keep: '3' });
    expect(() => resolveParams(job, {})).toThrow(
      'params.tenantId: the job rotate-secrets needs this parameter (the tenant to rotate)',
    );
    expect(() => resolveParams(job, { tenantId: '42x' })).toThrow(
      "params.tenantId: '42x' does not match the pattern [0-9]+",
    );
    expect(() => resolveParams(job, { tenantId: '1', tenant: '2' })).toThrow(
      "params.tenant: the job rotate-secrets has no parameter 'tenant'; known: tenantId, keep, note",
    );
  });

  it("turns the job's timeout and retries into the activity's limits", () => {
    expect(jobActivityPolicy({ timeout: '1h30m', retries: 2 })).toEqual({
      startToCloseTimeoutMs: 5_400_000,
      maximumAttempts: 3,
    });
  });
});
