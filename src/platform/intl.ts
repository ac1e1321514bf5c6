import { isSupportedCountry } from "libphonenumber-js/max";

/** Currency, time zone, locale and country checks, answered by the runtime's Intl data and libphonenumber. */
const currencies = new Set(Intl.supportedValuesOf("currency"));

export function isCurrencyCode(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && currencies.has(code);
}

const minorUnitsByCurrency = new Map<string, number>();

/**
 * Decimal places of a currency's minor unit: USD 2, JPY 0, KWD 3. Remembered per code: building an
 * Intl.NumberFormat costs tens of microseconds, and this runs on every shop read.
 */
export function currencyMinorUnits(code: string): number {
  let units = minorUnitsByCurrency.get(code);
  if (units === undefined) {
    units =
      new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    minorUnitsByCurrency.set(code, units);
  }
  return units;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The canonical form of a BCP 47 language tag ("en-us" → "en-US"), or undefined if it is not one. */
export function canonicalLocale(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** The calendar year and month (1–12) of an instant in a time zone. */
export function zonedYearMonth(instant: Date, timeZone: string): { year: number; month: number } {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "numeric" }).formatToParts(
    instant,
  );
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  return { year: value("year"), month: value("month") };
}

/** How far a time zone is ahead of UTC at an instant, in milliseconds. */
function zoneOffsetMs(instant: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(instant);
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  const asUtc = Date.UTC(
    value("year"),
    value("month") - 1,
    value("day"),
    value("hour"),
    value("minute"),
    value("second"),
  );
  return asUtc - (instant.getTime() - instant.getUTCMilliseconds());
}

/**
 * The instant a calendar month begins in a time zone (local midnight on the 1st). `month` is 1–12
 * and may run past 12 (13 is January of the next year). Two passes settle a DST change at midnight.
 */
export function zonedMonthStart(year: number, month: number, timeZone: string): Date {
  const localMidnight = Date.UTC(year, month - 1, 1);
  let instant = localMidnight - zoneOffsetMs(new Date(localMidnight), timeZone);
  instant = localMidnight - zoneOffsetMs(new Date(instant), timeZone);
  return new Date(instant);
}

/** An ISO 3166-1 alpha-2 code of a country or territory with its own telephone numbering. */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}
