/** Calendar dates as YYYY-MM-DD: checked, stepped, and read in a time zone. Pure: workflows import it. */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

export function isIsoDate(text: string): boolean {
  const match = ISO_DATE.exec(text);
  if (!match) return false;
  const [, y, m, d] = match.map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * The one check of a date a command or a run takes: a real calendar day written YYYY-MM-DD. Returns it, or throws
 * what the caller's `invalid` makes of the problem and its fix (a `UsageError` in the CLI, a `JobInputError` in a run).
 */
export function checkDate(value: string, invalid: (problem: string, fix: string) => Error): string {
  if (!isIsoDate(value)) throw invalid(`'${value}' is not a date`, 'write dates as YYYY-MM-DD, e.g. 2025-01-31');
  return value;
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d) + days * DAY_MS).toISOString().slice(0, 10);
}

/** How many dates `from`..`to` holds (both included), by arithmetic: nothing is enumerated. */
export function daysInRange(from: string, to: string): number {
  const utc = (date: string) => {
    const [y, m, d] = date.split('-').map(Number);
    return Date.UTC(y, m - 1, d);
  };
  return Math.round((utc(to) - utc(from)) / DAY_MS) + 1;
}

/** Every date from `from` to `to`, both included. */
export function datesBetween(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let date = from; date <= to; date = addDays(date, 1)) dates.push(date);
  return dates;
}

/** An instant's wall-clock fields in a time zone, zero-padded, on a 24-hour clock. */
export interface WallClock {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

export function wallClockInZone(instant: Date, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** The calendar date of an instant in a time zone, as YYYY-MM-DD. */
export function dateInZone(instant: Date, timeZone: string): string {
  const { year, month, day } = wallClockInZone(instant, timeZone);
  return `${year}-${month}-${day}`;
}

/** The instant a calendar date starts in a time zone (midnight, or the first instant of the day). */
export function startOfDayInZone(date: string, timeZone: string): Date {
  const [year, month, day] = date.split('-').map(Number);
  const target = Date.UTC(year, month - 1, day);
  let guess = target;
  // Two passes settle the offset, also on days when it changes.
  for (let i = 0; i < 3; i++) guess = target - offsetMs(new Date(guess), timeZone);
  return new Date(guess);
}

function offsetMs(instant: Date, timeZone: string): number {
  const wall = wallClockInZone(instant, timeZone);
  const asUtc = Date.UTC(
    Number(wall.year),
    Number(wall.month) - 1,
    Number(wall.day),
    Number(wall.hour),
    Number(wall.minute),
    Number(wall.second),
  );
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}
