import { isoWeek, planRetention, type RetentionItem, type RetentionPolicy } from '../../src/activities/retention';

/** A backup at 01:00 in São Paulo (04:00 UTC) on the given day. */
function daily(date: string, verified = true): RetentionItem {
  return { id: `db-${date}`, time: `${date}T04:00:00.000Z`, verified };
}

function days(from: string, count: number): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

const keptIds = (items: RetentionItem[], policy: RetentionPolicy, timeZone?: string) =>
  planRetention(items, policy, { timeZone }).keep.map((k) => k.id);

describe('retention plan', () => {
  it('keeps the last N, the newest of each of the last daily/weekly/monthly buckets, and nothing else, over a month', () => {
    const items = days('2025-01-01', 32).map((d) => daily(d, d !== '2025-01-15'));
    const plan = planRetention(items, { last: 3, daily: 7, weekly: 4, monthly: 3 });
    expect(plan.keep).toEqual([
      { id: 'db-2025-02-01', reasons: ['last', 'daily 2025-02-01', 'weekly 2025-W05', 'monthly 2025-02'] },
      { id: 'db-2025-01-31', reasons: ['last', 'daily 2025-01-31', 'monthly 2025-01'] },
      { id: 'db-2025-01-30', reasons: ['last', 'daily 2025-01-30'] },
      { id: 'db-2025-01-29', reasons: ['daily 2025-01-29'] },
      { id: 'db-2025-01-28', reasons: ['daily 2025-01-28'] },
      { id: 'db-2025-01-27', reasons: ['daily 2025-01-27'] },
      { id: 'db-2025-01-26', reasons: ['daily 2025-01-26', 'weekly 2025-W04'] },
      { id: 'db-2025-01-19', reasons: ['weekly 2025-W03'] },
      { id: 'db-2025-01-12', reasons: ['weekly 2025-W02'] },
    ]);
    expect(plan.delete.map((d) => d.id).sort()).toEqual(
      days('2025-01-01', 32)
        .filter(
          (d) =>
            ![
              '2025-02-01',
              '2025-01-31',
              '2025-01-30',
              '2025-01-29',
              '2025-01-28',
              '2025-01-27',
              '2025-01-26',
              '2025-01-19',
              '2025-01-12',
            ].includes(d),
        )
        .map((d) => `db-${d}`),
    );
    expect(plan.delete.find((d) => d.id === 'db-2025-01-15')?.reason).toBe(
      'unverified, and a newer verified backup exists',
    );
  });

  it('gives the same result applied every day of the month as applied once at its end', () => {
    const policy = { last: 2, daily: 5, weekly: 3, monthly: 3 };
    let catalogue: RetentionItem[] = [];
    for (const date of days('2024-12-20', 45)) {
      catalogue.push(daily(date, date !== '2025-01-15' && date !== '2025-01-22'));
      const plan = planRetention(catalogue, policy);
      const newestVerified = catalogue.filter((i) => i.verified).sort((a, b) => b.time.localeCompare(a.time))[0];
      expect(plan.delete.map((d) => d.id)).not.toContain(newestVerified.id);
      catalogue = catalogue.filter((i) => plan.keep.some((k) => k.id === i.id));
    }
    const once = keptIds(
      days('2024-12-20', 45).map((d) => daily(d, d !== '2025-01-15' && d !== '2025-01-22')),
      policy,
    );
    expect(catalogue.map((i) => i.id).sort()).toEqual([...once].sort());
    expect(once).toEqual([
      'db-2025-02-02',
      'db-2025-02-01',
      'db-2025-01-31',
      'db-2025-01-30',
      'db-2025-01-29',
      'db-2025-01-26',
      'db-2025-01-19',
      'db-2024-12-31',
    ]);
  });

  it('never counts an unverified backup toward a rule', () => {
    const items = [
      daily('2025-03-01'),
      daily('2025-03-02'),
      daily('2025-03-03', false),
      daily('2025-03-04', false),
      daily('2025-03-05'),
    ];
    const plan = planRetention(items, { last: 2 });
    expect(plan.keep.map((k) => k.id)).toEqual(['db-2025-03-05', 'db-2025-03-02']);
    expect(plan.delete.map((d) => d.id)).toEqual(['db-2025-03-04', 'db-2025-03-03', 'db-2025-03-01']);
  });

  it('keeps an unverified backup newer than every verified one (nothing better exists yet)', () => {
    const plan = planRetention([daily('2025-03-01'), daily('2025-03-02', false)], { last: 1 });
    expect(plan.keep).toEqual([
      { id: 'db-2025-03-02', reasons: ['unverified, but no verified backup is newer'] },
      { id: 'db-2025-03-01', reasons: ['last'] },
    ]);
  });

  it('never deletes the newest verified backup, even with rules that keep nothing', () => {
    const items = [daily('2025-03-01'), daily('2025-03-02'), daily('2025-03-03', false)];
    expect(keptIds(items, { daily: 0, weekly: 0, monthly: 0 })).toEqual(['db-2025-03-03', 'db-2025-03-02']);
    expect(planRetention(items, { daily: 0 }).keep.find((k) => k.id === 'db-2025-03-02')?.reasons).toEqual([
      'newest verified',
    ]);
  });

  it('keeps everything when no rule is set', () => {
    const items = days('2025-01-01', 10).map((d) => daily(d));
    expect(planRetention(items, {}).delete).toEqual([]);
  });

  it("buckets days in the given time zone (late-evening São Paulo backups belong to that evening's day)", () => {
    const items = [
      { id: 'evening', time: '2025-03-02T02:30:00.000Z', verified: true }, // 23:30 on March 1 in São Paulo
      { id: 'morning', time: '2025-03-01T12:00:00.000Z', verified: true },
    ];
    expect(keptIds(items, { daily: 1 }, 'America/Sao_Paulo')).toEqual(['evening']);
    expect(keptIds(items, { daily: 2 }, 'UTC')).toEqual(['evening', 'morning']);
  });

  it.each([
    [{ year: 2025, month: 1, day: 1 }, '2025-W01'],
    [{ year: 2024, month: 12, day: 30 }, '2025-W01'],
    [{ year: 2021, month: 1, day: 3 }, '2020-W53'],
    [{ year: 2025, month: 1, day: 26 }, '2025-W04'],
    [{ year: 2025, month: 1, day: 27 }, '2025-W05'],
  ])('ISO week of %o is %s', (date, week) => {
    expect(isoWeek(date)).toBe(week);
  });

  it('never lets suspect backups (a dump that shrank to nothing) push out the newest good one', () => {
    const items = [
      daily('2025-01-01'),
      daily('2025-01-02'),
      { ...daily('2025-01-03'), suspect: true },
      { ...daily('2025-01-04'), suspect: true },
    ];
    expect(planRetention(items, { last: 2 }).keep).toEqual([
      { id: 'db-2025-01-04', reasons: ['last'] },
      { id: 'db-2025-01-03', reasons: ['last'] },
      { id: 'db-2025-01-02', reasons: ['newest verified backup not flagged as suspect'] },
    ]);
  });
});
