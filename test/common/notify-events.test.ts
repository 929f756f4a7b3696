import { eventOf, selectedEvents, selects } from '../../src/common/notify-events';
import type { RunReport } from '../../src/common/progress';

describe('notification events', () => {
  it('names an event by the run kind and outcome', () => {
    expect(eventOf({ kind: 'deploy', outcome: 'rolled_back' } as RunReport)).toBe('deploy.rolled_back');
  });

  it('lets a bare outcome select that outcome of any kind, and a full name only itself', () => {
    expect(selects('failed', 'job.failed')).toBe(true);
    expect(selects('failed', 'backup.failed')).toBe(true);
    expect(selects('rolled_back', 'deploy.rolled_back')).toBe(true);
    expect(selects('failed', 'job.summary')).toBe(false);
    expect(selects('backup.failed', 'deploy.failed')).toBe(false);
    expect(selects('job.summary', 'job.summary')).toBe(true);
  });

  it('keeps the order the run raised its events in', () => {
    expect(selectedEvents(['failed', 'job.summary'], ['job.summary', 'job.failed'])).toEqual([
      'job.summary',
      'job.failed',
    ]);
    expect(selectedEvents(['failed'], ['job.summary', 'job.failed'])).toEqual(['job.failed']);
    expect(selectedEvents(['rolled_back'], ['job.summary'])).toEqual([]);
  });
});
