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

/** An ISO 3166-1 alpha-2 code of a country or territory with its own telephone numbering. */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}
