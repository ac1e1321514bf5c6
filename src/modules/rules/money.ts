import type { FieldError } from "../../platform/errors.js";
import { currencyMinorUnits, isCurrencyCode } from "../../platform/intl.js";
import { isIntegerIn, isPlainObject, unknownProperties } from "./json.js";

/** An amount in the currency's minor units (cents for USD, yen for JPY, fils for KWD) and its ISO 4217 code. */
export interface Money {
  amount: number;
  currency: string;
}

/** "19.99 USD", "1980 JPY", "12.345 KWD": exact, from the integer, with no float in between. */
export function formatMoney(money: Money): string {
  const decimals = currencyMinorUnits(money.currency);
  const negative = money.amount < 0;
  const digits = BigInt(Math.abs(money.amount))
    .toString()
    .padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = decimals > 0 ? `.${digits.slice(digits.length - decimals)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction} ${money.currency}`;
}

/**
 * Checks `{amount, currency}` as written in a rule: a whole, non-negative number of minor units
 * and a known currency — the shop's, when `currency` is given.
 */
export function validateMoney(value: unknown, pointer: string, currency: string | undefined): FieldError[] {
  if (!isPlainObject(value)) {
    return [{ pointer, message: 'must be an amount like {"amount": 5000, "currency": "USD"}' }];
  }
  const errors = unknownProperties(value, ["amount", "currency"], pointer, "an amount");
  if (!isIntegerIn(value.amount, 0, Number.MAX_SAFE_INTEGER)) {
    errors.push({
      pointer: `${pointer}/amount`,
      message: "must be a whole, non-negative number of minor units (cents for USD: 5000 is 50.00)",
    });
  }
  const code = value.currency;
  if (typeof code !== "string" || !isCurrencyCode(code)) {
    errors.push({ pointer: `${pointer}/currency`, message: "must be an ISO 4217 currency code such as USD" });
  } else if (currency !== undefined && code !== currency) {
    errors.push({ pointer: `${pointer}/currency`, message: `must be the shop currency ${currency}` });
  }
  return errors;
}
