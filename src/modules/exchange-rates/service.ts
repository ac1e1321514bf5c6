import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError, type FieldError } from "../../platform/errors.js";
import { currencyMinorUnits, isCurrencyCode } from "../../platform/intl.js";
import { writeOutboxEvents } from "../../platform/outbox.js";
import { getShop } from "../shops/index.js";
import * as repository from "./repository.js";
import { type ExchangeRate, toExchangeRate } from "./repository.js";
import type { ExchangeRatesTable } from "./tables.js";

export type { ExchangeRate };

/** The most digits a rate may have after the decimal point, as written. */
export const maxRateFractionDigits = 12;
/** The most significant digits a rate may have (leading zeros and trailing zeros after the point do not count). */
export const maxRateSignificantDigits = 18;

const rateSyntax = /^([0-9]+)(?:\.([0-9]+))?$/;

type RateCheck =
  | { ok: true; normalized: string; numerator: bigint; denominator: bigint }
  | { ok: false; problem: string };

/** Reads a rate as written by a merchant, or says what is wrong with it in words a merchant reads. */
function checkRate(text: string): RateCheck {
  const match = rateSyntax.exec(text);
  if (!match) {
    return {
      ok: false,
      problem:
        'must be a decimal number written with digits and at most one point, like "1.0825" (no sign, exponent, spaces or thousands separators)',
    };
  }
  const written = match[2] ?? "";
  if (written.length > maxRateFractionDigits) {
    return { ok: false, problem: `must have at most ${maxRateFractionDigits} digits after the point` };
  }
  const whole = (match[1] ?? "").replace(/^0+/, "");
  const fraction = written.replace(/0+$/, "");
  const digits = `${whole}${fraction}`.replace(/^0+/, "");
  if (digits === "") return { ok: false, problem: "must be greater than zero" };
  if (digits.length > maxRateSignificantDigits) {
    return { ok: false, problem: `must have at most ${maxRateSignificantDigits} significant digits` };
  }
  return {
    ok: true,
    normalized: fraction === "" ? whole || "0" : `${whole || "0"}.${fraction}`,
    numerator: BigInt(digits),
    denominator: 10n ** BigInt(fraction.length),
  };
}

/**
 * The exact value of a rate as `numerator / denominator`, the denominator a power of ten and the
 * fraction without trailing zeros ("1.50" → 15/10). Undefined for anything that is not a valid
 * rate: not a plain positive decimal, more than 12 digits after the point or more than 18
 * significant digits.
 */
export function parseRate(text: string): { numerator: bigint; denominator: bigint } | undefined {
  const checked = checkRate(text);
  return checked.ok ? { numerator: checked.numerator, denominator: checked.denominator } : undefined;
}

/** The stored form of a rate: "1.50" → "1.5", "007" → "7", ".5" is not a rate. Undefined when invalid. */
export function normalizeRate(text: string): string | undefined {
  const checked = checkRate(text);
  return checked.ok ? checked.normalized : undefined;
}

/**
 * Converts `amount` minor units of `from` into minor units of `to`, where one unit of `from` is
 * worth `rate` units of `to`. Each currency's own minor units count (JPY 0, USD 2, KWD 3): 1980 JPY
 * at "0.0067" is 13.266 USD, 1327 cents. The arithmetic is exact (BigInt) and the one rounding
 * at the end is half up: a result exactly halfway between two minor units goes to the larger one.
 *
 * Throws a RangeError for an amount that is not a non-negative safe integer, an unknown currency,
 * an invalid rate, or a result beyond Number.MAX_SAFE_INTEGER.
 */
export function convertMinorUnits(amount: number, from: string, to: string, rate: string): number {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(`amount must be a non-negative safe integer of minor units, not ${amount}`);
  }
  for (const code of [from, to]) {
    if (!isCurrencyCode(code)) throw new RangeError(`"${code}" is not an ISO 4217 currency code`);
  }
  const parsed = parseRate(rate);
  if (!parsed) throw new RangeError(`"${rate}" is not a valid exchange rate`);
  // amount / 10^fromDecimals units × numerator / denominator, in units of 10^-toDecimals.
  const numerator = BigInt(amount) * parsed.numerator * 10n ** BigInt(currencyMinorUnits(to));
  const denominator = parsed.denominator * 10n ** BigInt(currencyMinorUnits(from));
  const quotient = numerator / denominator;
  const result = 2n * (numerator % denominator) >= denominator ? quotient + 1n : quotient;
  if (result > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`${amount} ${from} at ${rate} is more ${to} minor units than a safe integer holds`);
  }
  return Number(result);
}

/**
 * An amount in the shop currency. The same currency comes back unchanged with `rate: null`;
 * another currency is converted at the shop's rate for it (half up, see convertMinorUnits) and
 * says which rate was used. Null when the shop has no rate for the currency.
 */
export async function convertToShopCurrency(
  db: Kysely<Database>,
  shopId: string,
  shopCurrency: string,
  money: { amount: number; currency: string },
): Promise<{ amount: number; rate: string | null } | null> {
  if (money.currency === shopCurrency) return { amount: money.amount, rate: null };
  const row = await repository.findRate(db, shopId, money.currency);
  if (!row) return null;
  return { amount: convertMinorUnits(money.amount, money.currency, shopCurrency, row.rate), rate: row.rate };
}

/**
 * The other way: an amount in the shop currency as minor units of `currency`, at the shop's rate
 * for it, rounded down (what points are worth in a cart's currency never exceeds their value).
 * Null when the shop has no rate for the currency.
 */
export async function convertFromShopCurrency(
  db: Kysely<Database>,
  shopId: string,
  shopCurrency: string,
  amount: number,
  currency: string,
): Promise<{ amount: number; rate: string | null } | null> {
  if (currency === shopCurrency) return { amount, rate: null };
  const row = await repository.findRate(db, shopId, currency);
  const parsed = row ? parseRate(row.rate) : undefined;
  if (!row || !parsed) return null;
  // One unit of `currency` is worth numerator/denominator shop units, so a shop unit is the inverse.
  const numerator = BigInt(amount) * parsed.denominator * 10n ** BigInt(currencyMinorUnits(currency));
  const denominator = parsed.numerator * 10n ** BigInt(currencyMinorUnits(shopCurrency));
  return { amount: Number(numerator / denominator), rate: row.rate };
}

function currencyError(currency: string): FieldError | undefined {
  return isCurrencyCode(currency)
    ? undefined
    : { pointer: "/params/currency", message: `"${currency}" is not an ISO 4217 currency code` };
}

function refuse(errors: FieldError[]): never {
  throw new AppError("validation_failed", errors.map((error) => `${error.pointer} ${error.message}`).join("; "), {
    errors,
  });
}

function checkCurrency(currency: string): void {
  const error = currencyError(currency);
  if (error) refuse([error]);
}

function notFound(currency: string): AppError {
  return new AppError("exchange_rate_not_found", `This shop has no exchange rate for ${currency}`);
}

export interface ExchangeRateList {
  baseCurrency: string;
  /** Ordered by currency code. */
  rates: ExchangeRate[];
}

export async function listExchangeRates(db: Kysely<Database>, shopId: string): Promise<ExchangeRateList> {
  const shop = await getShop(db, shopId);
  return { baseCurrency: shop.baseCurrency, rates: (await repository.listRates(db, shopId)).map(toExchangeRate) };
}

/** The shop's rate for `currency`; 400 for a code that is not ISO 4217, 404 when there is none. */
export async function getExchangeRate(db: Kysely<Database>, shopId: string, currency: string): Promise<ExchangeRate> {
  checkCurrency(currency);
  const row = await repository.findRate(db, shopId, currency);
  if (!row) throw notFound(currency);
  return toExchangeRate(row);
}

export interface SetExchangeRateInput {
  shopId: string;
  currency: string;
  /** As the merchant wrote it; stored normalized. */
  rate: string;
}

export interface SetExchangeRateResult {
  exchangeRate: ExchangeRate;
  /** The shop had no rate for the currency before. */
  created: boolean;
  /** False when the same rate was already stored: nothing was written and no event emitted. */
  changed: boolean;
}

/**
 * Creates or replaces the shop's rate for a currency and emits `exchange_rate.updated`. Refuses
 * (400 validation_failed, every bad field at once) a code that is not ISO 4217, the shop's own
 * currency, and a rate that is not a valid positive decimal.
 */
export async function setExchangeRate(trx: Tx, input: SetExchangeRateInput, now: Date): Promise<SetExchangeRateResult> {
  const shop = await getShop(trx, input.shopId);
  const errors: FieldError[] = [];
  const badCurrency = currencyError(input.currency);
  if (badCurrency) errors.push(badCurrency);
  if (input.currency === shop.baseCurrency) {
    errors.push({
      pointer: "/params/currency",
      message: `is the shop currency ${shop.baseCurrency}; amounts in it need no exchange rate`,
    });
  }
  const checked = checkRate(input.rate);
  if (!checked.ok) errors.push({ pointer: "/body/rate", message: checked.problem });
  if (errors.length > 0 || !checked.ok) refuse(errors);

  const rate = checked.normalized;
  const timestamp = now.toISOString();

  async function saved(row: ExchangeRatesTable, previousRate: string | null): Promise<SetExchangeRateResult> {
    const exchangeRate = toExchangeRate(row);
    await writeOutboxEvents(
      trx,
      input.shopId,
      [
        {
          type: "exchange_rate.updated",
          subjectType: "shop",
          subjectId: input.shopId,
          data: {
            currency: exchangeRate.currency,
            rate: exchangeRate.rate,
            previous_rate: previousRate,
            base_currency: shop.baseCurrency,
            created_at: exchangeRate.createdAt,
            updated_at: exchangeRate.updatedAt,
          },
        },
      ],
      now,
    );
    return { exchangeRate, created: previousRate === null, changed: true };
  }

  // A concurrent DELETE may commit between the insert that found a row and the lock that reads
  // it; the next round then inserts. Rounds run out only if the rate is deleted and re-created
  // continuously, which is reported rather than looped on.
  for (let round = 0; round < 3; round += 1) {
    const inserted = await repository.insertRateIfAbsent(trx, {
      shop_id: input.shopId,
      currency: input.currency,
      rate,
      created_at: timestamp,
      updated_at: timestamp,
    });
    if (inserted) return saved(inserted, null);
    const current = await repository.lockRate(trx, input.shopId, input.currency);
    if (!current) continue;
    if (current.rate === rate) return { exchangeRate: toExchangeRate(current), created: false, changed: false };
    await repository.updateRate(trx, input.shopId, input.currency, { rate, updated_at: timestamp });
    return saved({ ...current, rate, updated_at: timestamp }, current.rate);
  }
  throw new Error(`exchange rate ${input.currency} of shop ${input.shopId} kept being deleted and re-created`);
}

/** Removes the shop's rate for a currency and emits `exchange_rate.deleted`; 404 when there is none. */
export async function deleteExchangeRate(trx: Tx, shopId: string, currency: string, now: Date): Promise<ExchangeRate> {
  checkCurrency(currency);
  const shop = await getShop(trx, shopId);
  const row = await repository.deleteRate(trx, shopId, currency);
  if (!row) throw notFound(currency);
  await writeOutboxEvents(
    trx,
    shopId,
    [
      {
        type: "exchange_rate.deleted",
        subjectType: "shop",
        subjectId: shopId,
        data: { currency: row.currency, rate: row.rate, base_currency: shop.baseCurrency },
      },
    ],
    now,
  );
  return toExchangeRate(row);
}
