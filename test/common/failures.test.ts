import { ApplicationFailure } from '@temporalio/common';
import { failure, FAILURES, isFailureOf, NON_RETRYABLE_TYPES } from '../../src/common/failures';

describe('failure types', () => {
  it('lists as non-retryable exactly the types the table says no retry can fix', () => {
    expect(NON_RETRYABLE_TYPES).toEqual(expect.arrayContaining(['BadInput', 'BackupConfig', 'MissingEnvironment']));
    expect(NON_RETRYABLE_TYPES).not.toContain('GitFailed');
    expect(NON_RETRYABLE_TYPES).not.toContain('StepFailed');
    for (const [type, kind] of Object.entries(FAILURES))
      expect(NON_RETRYABLE_TYPES.includes(type as keyof typeof FAILURES)).toBe(!kind.retryable);
  });

  it('makes failures retryable as the table says, final when told', () => {
    const bad = failure('BadInput', 'app: expected a name');
    expect(bad).toBeInstanceOf(ApplicationFailure);
    expect([bad.type, bad.message, bad.nonRetryable]).toEqual(['BadInput', 'app: expected a name', true]);
    expect(failure('GitFailed', 'fetch failed').nonRetryable).toBe(false);
    expect(failure('StepFailed', 'exit 1', { final: true }).nonRetryable).toBe(true);
    const withDetails = failure('JobDateFailed', 'exit 2', { details: [{ date: '2025-01-01' }] });
    expect(withDetails.details).toEqual([{ date: '2025-01-01' }]);
    expect(isFailureOf(withDetails, 'JobDateFailed')).toBe(true);
    expect(isFailureOf(withDetails, 'StepFailed')).toBe(false);
    expect(isFailureOf(new Error('x'), 'StepFailed')).toBe(false);
  });
});
