/**
 * Calendar dates and day boundaries in a shop's time zone, answered by Intl. Rule windows ("on
 * Saturdays", "from 1 to 24 December", "at most 500 points a day") are about the merchant's
 * calendar, not UTC's.
 */

/** A local calendar moment. `weekday` is 0 for Sunday to 6 for Saturday, as in `Date.getUTCDay`. */
export interface ZonedDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const msPerDay = 24 * 60 * 60 * 1000;

// Building an Intl.DateTimeFormat costs tens of microseconds; rule evaluation asks for the same zones again and again.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

// formatToParts costs tens of microseconds, and rule evaluation asks for local times all the time.
// Offsets change on quarter hours (every DST change since 1970 in the IANA database), so the offset
// of a quarter hour is cached when it is the same at both its ends; the local fields then come
// from plain UTC arithmetic. A quarter hour with a change in it is always computed.
const quarterHour = 15 * 60 * 1000;
const offsets = new Map<string, number | null>();
const maxCachedOffsets = 10_000;

function offsetFromParts(instant: number, parts: ZonedDateTime & { second: number }): number {
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return asUtc - (instant - (((instant % 1000) + 1000) % 1000));
}

function localParts(instant: number, timeZone: string): ZonedDateTime & { second: number } {
  const bucket = Math.floor(instant / quarterHour);
  const key = `${timeZone} ${bucket}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    const start = bucket * quarterHour;
    const end = start + quarterHour - 1;
    const first = offsetFromParts(start, computeLocalParts(start, timeZone));
    const last = offsetFromParts(end, computeLocalParts(end, timeZone));
    offset = first === last ? first : null;
    if (offsets.size >= maxCachedOffsets) offsets.clear();
    offsets.set(key, offset);
  }
  if (offset === null) return computeLocalParts(instant, timeZone);
  const local = new Date(instant + offset);
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
    weekday: local.getUTCDay(),
  };
}

function computeLocalParts(instant: number, timeZone: string): ZonedDateTime & { second: number } {
  const parts = formatterFor(timeZone).formatToParts(new Date(instant));
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  const year = value("year");
  const month = value("month");
  const date = value("day");
  return {
    year,
    month,
    day: date,
    hour: value("hour"),
    minute: value("minute"),
    second: value("second"),
    weekday: new Date(Date.UTC(year, month - 1, date)).getUTCDay(),
  };
}

/** The local date, time and weekday of an instant in a time zone. */
export function zonedDateTime(instant: Date, timeZone: string): ZonedDateTime {
  const { second: _second, ...parts } = localParts(instant.getTime(), timeZone);
  return parts;
}

/** How far the zone is ahead of UTC at an instant, in milliseconds. */
function offsetAt(instant: number, timeZone: string): number {
  const local = localParts(instant, timeZone);
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  return asUtc - (instant - (((instant % 1000) + 1000) % 1000));
}

/**
 * The first instant of a local calendar day. `month` is 1–12 and `day` 1–31; both may run over
 * (day 32 of January is 1 February), so callers can step by days and months without normalising.
 *
 * Midnight is tried with the offsets in force a day before and a day after; the earliest candidate
 * that falls on the wanted date is the start. That covers the zones whose DST change happens at
 * midnight: where midnight is skipped (America/Santiago, America/Havana in spring) the day starts
 * at the jump, at 01:00; where it happens twice (Havana in autumn) the day starts at the first.
 */
export function zonedDayStart(year: number, month: number, day: number, timeZone: string): Date {
  const localMidnight = Date.UTC(year, month - 1, day);
  const wanted = new Date(localMidnight);
  const candidates = [offsetAt(localMidnight - msPerDay, timeZone), offsetAt(localMidnight + msPerDay, timeZone)]
    .map((offset) => localMidnight - offset)
    .filter((instant) => {
      const local = localParts(instant, timeZone);
      return (
        local.year === wanted.getUTCFullYear() &&
        local.month === wanted.getUTCMonth() + 1 &&
        local.day === wanted.getUTCDate()
      );
    });
  // With at most one offset change in the three days around the date, one candidate always fits.
  return new Date(Math.min(...candidates));
}
