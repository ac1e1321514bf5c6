import { AppError } from "../platform/errors.js";
import { currencyMinorUnits, isCurrencyCode } from "../platform/intl.js";

// What store platforms send: "19.99", "1000", "-10.00". No exponent, no grouping, no spaces.
const decimalText = /^(-?)(\d+)(?:\.(\d+))?$/;
// What String(number) produces: the same, plus an exponent for very small or large numbers.
const numberText = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

function refuse(message: string, pointer: string | undefined): AppError {
  return new AppError(
    "validation_failed",
    pointer === undefined ? message : `${pointer} ${message}`,
    pointer === undefined ? {} : { errors: [{ pointer, message }] },
  );
}

/** Moves the decimal point of `whole.fraction` by `exponent` places, as text. */
function shift(whole: string, fraction: string, exponent: number): { whole: string; fraction: string } {
  const digits = whole + fraction;
  const point = whole.length + exponent;
  if (point <= 0) return { whole: "0", fraction: "0".repeat(-point) + digits };
  if (point >= digits.length) return { whole: digits + "0".repeat(point - digits.length), fraction: "" };
  return { whole: digits.slice(0, point), fraction: digits.slice(point) };
}

/**
 * A platform's decimal amount as integer minor units of `currency`, computed on the digits, never
 * with a float multiply (0.29 * 100 is 28.999999999999996): "19.99" USD → 1999, "1000" JPY → 1000,
 * "1.234" KWD → 1234.
 *
 * - More decimals than the currency has are rounded half up, away from zero, so a refund rounds
 *   like the charge it mirrors: "0.125" USD → 13, "-0.125" USD → -13, "0.124" USD → 12.
 * - Negative amounts are accepted (WooCommerce writes refunds as "-10.00"); callers that need a
 *   non-negative amount check the sign.
 * - A JS number (WooCommerce's line `price`, Shopify's refund line `subtotal`) is read through its
 *   shortest round-trip string, String(n): 195.66 is read as "195.66", not as its binary value.
 *
 * Anything else — "", " 1.00", "1,000.00", "1.", ".5", "+1", "1e3", NaN, an unknown currency, an
 * amount beyond Number.MAX_SAFE_INTEGER minor units — is an AppError `validation_failed`, addressed
 * at `pointer` when one is given.
 */
export function parseDecimalAmount(text: string | number, currency: string, pointer?: string): number {
  if (typeof currency !== "string" || !isCurrencyCode(currency)) {
    throw refuse(
      `has an unknown currency ${JSON.stringify(currency)}; expected an ISO 4217 code such as "USD"`,
      pointer,
    );
  }
  let sign: string;
  let whole: string;
  let fraction: string;
  if (typeof text === "number") {
    const match = Number.isFinite(text) ? numberText.exec(String(text)) : null;
    if (!match) throw refuse(`must be a finite amount, got ${String(text)}`, pointer);
    sign = match[1] ?? "";
    ({ whole, fraction } = shift(match[2] ?? "0", match[3] ?? "", Number(match[4] ?? "0")));
  } else if (typeof text === "string") {
    const match = decimalText.exec(text);
    if (!match) throw refuse(`must be a decimal amount such as "19.99", got ${JSON.stringify(text)}`, pointer);
    sign = match[1] ?? "";
    whole = match[2] ?? "0";
    fraction = match[3] ?? "";
  } else {
    throw refuse(`must be a decimal amount such as "19.99", got ${text === null ? "null" : typeof text}`, pointer);
  }
  const places = currencyMinorUnits(currency);
  // Number() of a digit string is exact up to 2^53 - 1 and lands on 2^53 or more above it, so the
  // safe-integer check below catches every amount that would lose precision.
  let minor = Number(whole + fraction.slice(0, places).padEnd(places, "0"));
  if ((fraction[places] ?? "0") >= "5") minor += 1;
  if (!Number.isSafeInteger(minor)) throw refuse(`is too large: ${String(text)} ${currency}`, pointer);
  return sign === "-" && minor !== 0 ? -minor : minor;
}
