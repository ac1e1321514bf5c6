/** The one source of "now". Services never call `new Date()` themselves, so tests can move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until told to move: for tests and for replaying history. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string = "2026-01-01T00:00:00.000Z") {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }

  advance(milliseconds: number): void {
    this.current += milliseconds;
  }
}

/** Timestamps are stored as fixed-width ISO-8601 UTC text on both dialects so they sort and compare as strings. */
export function toTimestamp(date: Date): string {
  return date.toISOString();
}

/** The earliest of some ISO timestamps (they sort as text), or null when there is none. */
export function earliest(values: Array<string | null | undefined>): string | null {
  let result: string | null = null;
  for (const value of values) {
    if (typeof value === "string" && (result === null || value < result)) result = value;
  }
  return result;
}

/**
 * The instant `months` calendar months after `iso` (UTC), on the same day of the month or the
 * month's last day when it is shorter: 31 January + 1 month is 28 (or 29) February.
 */
export function addMonths(iso: string, months: number): string {
  const date = new Date(iso);
  const day = date.getUTCDate();
  const target = new Date(date.getTime());
  target.setUTCDate(1);
  target.setUTCMonth(target.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.toISOString();
}
