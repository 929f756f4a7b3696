import {
  addDays,
  dateInZone,
  datesBetween,
  isIsoDate,
  startOfDayInZone,
  wallClockInZone,
} from '../../src/common/dates';

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

  it("reads an instant's wall clock in a time zone, on a 24-hour clock", () => {
    expect(wallClockInZone(new Date('2025-03-01T02:30:05Z'), 'America/Sao_Paulo')).toEqual({
      year: '2025',
      month: '02',
      day: '28',
      hour: '23',
      minute: '30',
      second: '05',
    });
    expect(wallClockInZone(new Date('2025-06-15T00:05:00Z'), 'UTC').hour).toBe('00');
  });

  it.each([
    ['2025-01-01', 'America/Sao_Paulo', '2025-01-01T03:00:00.000Z'],
    ['2025-03-30', 'Europe/Berlin', '2025-03-29T23:00:00.000Z'],
    ['2025-10-26', 'Europe/Berlin', '2025-10-25T22:00:00.000Z'],
    ['2025-06-15', 'UTC', '2025-06-15T00:00:00.000Z'],
  ])('the day %s starts in %s at %s', (date, zone, instant) => {
    expect(startOfDayInZone(date, zone).toISOString()).toBe(instant);
  });
});
