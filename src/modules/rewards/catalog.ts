import type { FieldError } from "../../platform/errors.js";
import { canonicalLocale, isCurrencyCode } from "../../platform/intl.js";
import type { Money } from "../rules/index.js";
import type { RewardType } from "./tables.js";

/** What a reward gives, by type. Amounts are per currency: a cart in another currency gets none. */
export type RewardValue =
  | { amounts: Money[] } // amount_off; store_credit takes the first (the shop currency's)
  | { percent: number; max_amounts: Money[] } // percent_off
  | { max_amounts: Money[] } // free_shipping: up to this shipping cost, empty: any
  | { variant_id: string; product_id: string | null } // free_product
  | { instructions: string }; // custom

/** A fixed price, or "100 points = $1" between a minimum and a maximum, in steps. */
export type RewardCost =
  | { type: "fixed"; points: number }
  | {
      type: "variable";
      points_per_unit: number;
      unit: Money;
      min_points: number;
      max_points: number;
      step_points: number;
    };

export interface RewardSettings {
  value: RewardValue;
  cost: RewardCost;
  /** The smallest cart (per currency) a code applies to; empty: any. */
  min_order: Money[];
  eligibility: { tiers: string[] | null; first_redemption_only: boolean };
  per_member_limit: number | null;
  code: { prefix: string; expires_in_days: number | null };
}

export interface Reward extends RewardSettings {
  id: string;
  shopId: string;
  status: "active" | "disabled" | "archived";
  type: RewardType;
  name: Record<string, string>;
  description: Record<string, string>;
  imageUrl: string | null;
  stock: { total: number; remaining: number } | null;
  redeemed: number;
  startsAt: string | null;
  endsAt: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export const defaultCodeExpiryDays = 90;
export const maxCodePrefixLength = 20;

function currencyList(list: Money[], pointer: string, errors: FieldError[]): void {
  const seen = new Set<string>();
  list.forEach((money, index) => {
    if (!isCurrencyCode(money.currency)) {
      errors.push({
        pointer: `${pointer}/${index}/currency`,
        message: "must be an ISO 4217 currency code such as USD",
      });
    } else if (seen.has(money.currency)) {
      errors.push({ pointer: `${pointer}/${index}/currency`, message: `repeats ${money.currency}` });
    }
    seen.add(money.currency);
  });
}

/** Problems the schema cannot see, each at its JSON pointer. */
export function checkRewardSettings(
  type: RewardType,
  settings: RewardSettings,
  names: { name: Record<string, string>; description: Record<string, string> },
  shopCurrency: string,
  pointer = "/body",
): FieldError[] {
  const errors: FieldError[] = [];
  const value = settings.value as Record<string, unknown>;
  if (type === "amount_off" || type === "store_credit") {
    const amounts = (settings.value as { amounts: Money[] }).amounts;
    // With a variable cost the amount comes from the points spent; with a fixed one it is set here.
    if (settings.cost.type === "variable" && amounts.length > 0) {
      errors.push({
        pointer: `${pointer}/value/amounts`,
        message: "must be empty with a variable cost: the points decide the amount",
      });
    }
    if (settings.cost.type === "fixed" && amounts.length === 0) {
      errors.push({ pointer: `${pointer}/value/amounts`, message: "needs at least one amount" });
    }
    if (amounts.some((money) => money.amount <= 0)) {
      errors.push({ pointer: `${pointer}/value/amounts`, message: "amounts must be above zero" });
    }
    currencyList(amounts, `${pointer}/value/amounts`, errors);
    if (type === "store_credit" && amounts.some((money) => money.currency !== shopCurrency)) {
      errors.push({
        pointer: `${pointer}/value/amounts`,
        message: `store credit is kept in the shop currency ${shopCurrency}`,
      });
    }
  }
  if ("max_amounts" in value) {
    const maxAmounts = (value as { max_amounts: Money[] }).max_amounts;
    // A maximum of zero would make the reward worth nothing in that currency.
    if (maxAmounts.some((money) => money.amount <= 0)) {
      errors.push({ pointer: `${pointer}/value/max_amounts`, message: "maximums must be above zero" });
    }
    currencyList(maxAmounts, `${pointer}/value/max_amounts`, errors);
  }
  currencyList(settings.min_order, `${pointer}/min_order`, errors);
  if (settings.cost.type === "variable") {
    const cost = settings.cost;
    if (type !== "amount_off" && type !== "store_credit") {
      errors.push({
        pointer: `${pointer}/cost/type`,
        message: "a variable cost suits amount_off and store_credit rewards only",
      });
    }
    if (cost.unit.amount <= 0) {
      errors.push({ pointer: `${pointer}/cost/unit/amount`, message: "must be above zero: the points buy this much" });
    }
    if (!isCurrencyCode(cost.unit.currency)) {
      errors.push({
        pointer: `${pointer}/cost/unit/currency`,
        message: "must be an ISO 4217 currency code such as USD",
      });
    } else if (type === "store_credit" && cost.unit.currency !== shopCurrency) {
      errors.push({
        pointer: `${pointer}/cost/unit/currency`,
        message: `store credit is kept in the shop currency ${shopCurrency}`,
      });
    }
    // Rounded down, a smaller price would spend points for nothing.
    if (cost.unit.amount > 0 && BigInt(cost.min_points) * BigInt(cost.unit.amount) < BigInt(cost.points_per_unit)) {
      errors.push({ pointer: `${pointer}/cost/min_points`, message: "must buy at least one minor unit" });
    }
    if (cost.min_points > cost.max_points) {
      errors.push({ pointer: `${pointer}/cost/min_points`, message: "must not exceed max_points" });
    }
    if (cost.min_points % cost.step_points !== 0 || cost.max_points % cost.step_points !== 0) {
      errors.push({ pointer: `${pointer}/cost/step_points`, message: "must divide min_points and max_points" });
    }
  }
  for (const [field, map] of Object.entries(names)) {
    for (const tag of Object.keys(map)) {
      if (canonicalLocale(tag) === undefined) {
        errors.push({ pointer: `${pointer}/${field}/${tag}`, message: "is not a valid locale tag" });
      }
    }
  }
  if (Object.keys(names.name).length === 0) {
    errors.push({ pointer: `${pointer}/name`, message: 'needs a name in at least one locale, e.g. {"en": "$5 off"}' });
  }
  return errors;
}

/** Locale maps under canonical tags (fr-CA), so any spelling of a tag finds them. */
export function canonicalNames(map: Record<string, string>): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [tag, text] of Object.entries(map)) names[canonicalLocale(tag) ?? tag] = text;
  return names;
}

export function localized(map: Record<string, string>, requested: string | null | undefined): string | null {
  const locale = requested ? canonicalLocale(requested) : undefined;
  if (locale) {
    if (map[locale] !== undefined) return map[locale];
    const language = locale.split("-")[0] as string;
    if (map[language] !== undefined) return map[language];
  }
  return Object.values(map)[0] ?? null;
}

/**
 * The points a redemption costs and the amount it is worth: the fixed price, or for a variable
 * cost the points asked for (default: the minimum), checked against its bounds and step. The
 * amount is exact: points × unit / points_per_unit, rounded down to a minor unit.
 */
export function priceOf(
  reward: Pick<Reward, "cost" | "value">,
  requestedPoints: number | undefined,
  pointer = "/body/points",
): { points: number; amount: Money | null; error: FieldError | null } {
  const cost = reward.cost;
  if (cost.type === "fixed") {
    if (requestedPoints !== undefined && requestedPoints !== cost.points) {
      return {
        points: cost.points,
        amount: null,
        error: { pointer, message: `this reward costs ${cost.points} points` },
      };
    }
    return { points: cost.points, amount: null, error: null };
  }
  const points = requestedPoints ?? cost.min_points;
  if (points < cost.min_points || points > cost.max_points || points % cost.step_points !== 0) {
    return {
      points,
      amount: null,
      error: {
        pointer,
        message: `must be from ${cost.min_points} to ${cost.max_points} points in steps of ${cost.step_points}`,
      },
    };
  }
  const amount = (BigInt(points) * BigInt(cost.unit.amount)) / BigInt(cost.points_per_unit);
  return { points, amount: { amount: Number(amount), currency: cost.unit.currency }, error: null };
}
