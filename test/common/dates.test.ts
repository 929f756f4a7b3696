import { addDays, dateInZone, datesBetween, isIsoDate } from '../../src/common/dates';

describe('calendar dates', () => {
  it('reads calendar dates and steps over month, year and leap days', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2025-02-29')).toBe(false);
    expect(isIsoDate('2025-12-1')).toBe(false);
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(datesBetween('2025-12-30', '2026-01-02')).toEqual(['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-02']);
  });

  it('reads the calendar date of an instant in a time zone', () => {
    const instant = new Date('2025-03-01T02:30:00Z');
    expect(dateInZone(instant, 'UTC')).toBe('2025-03-01');
    expect(dateInZone(instant, 'America/Sao_Paulo')).toBe('2025-02-28');
    expect(dateInZone(instant, 'Asia/Tokyo')).toBe('2025-03-01');
  });
});
