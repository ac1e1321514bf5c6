import type { FieldError } from "../../platform/errors.js";
import { type Condition, type EvaluationContext, evaluateConditions, validateConditions } from "./conditions.js";
import type { LimitCut, MultiplierLine } from "./explain.js";
import { isIntegerIn, isPlainObject, unknownProperties } from "./json.js";
import { formatMoney, type Money, validateMoney } from "./money.js";

/*
 * What a matched rule is worth. All arithmetic is on integers (BigInt where a product can pass
 * 2^53): order amounts are minor units, points are whole, multipliers are fractions.
 *
 * 1. base: `fixed` N points, or `per_currency_unit` — `points` for every `per` of the order's
 *    subtotal (or total) in the shop currency, rounded by `rounding` (default "floor").
 * 2. multipliers: every multiplier whose `when` holds (or that has none) multiplies the base; the
 *    product of all of them is applied at once and rounded once, with the same rounding.
 * 3. the per-event cap (`max_points_per_event`).
 *
 * No stage goes past `maxPointsPerAward`: a value beyond it (only absurd data gets there) stops at it.
 */

export const roundingModes = ["floor", "round_half_up", "ceil"] as const;
export type Rounding = (typeof roundingModes)[number];

export type Reward =
  | { type: "fixed"; points: number; rounding?: Rounding }
  | {
      type: "per_currency_unit";
      points: number;
      per: Money;
      /** Which order amount earns: the subtotal (default) or the total. */
      basis?: "subtotal" | "total";
      rounding?: Rounding;
    };

/**
 * A fraction, so 1.5× is exactly 3/2 and no float ever touches points: double points is
 * `{"numerator": 2}`, a Gold tier's 1.5× is `{"numerator": 3, "denominator": 2, "when": ...}`.
 */
export interface Multiplier {
  numerator: number;
  /** Defaults to 1. */
  denominator?: number;
  label?: string;
  /** Applies only when this condition holds (tier, birthday, weekday, date window...). */
  when?: Condition;
}

/** The largest award for one event: the ledger's largest single transaction. */
export const maxPointsPerAward = 1_000_000_000_000;
const maxFixedPoints = maxPointsPerAward;
const maxPointsPerUnit = 1_000_000;
const maxMultiplierTerm = 1000;
const maxMultipliers = 10;

/** `numerator / denominator` rounded to a whole number; both non-negative, the denominator above zero. */
export function divideRounded(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n || rounding === "floor") {
    return quotient;
  }
  if (rounding === "ceil") {
    return quotient + 1n;
  }
  return 2n * remainder >= denominator ? quotient + 1n : quotient;
}

const roundingWords: Record<Rounding, string> = {
  floor: "rounded down",
  round_half_up: "rounded half up",
  ceil: "rounded up",
};

const ceiling = BigInt(maxPointsPerAward);

function saturate(points: bigint): bigint {
  return points > ceiling ? ceiling : points;
}

/** The reward's own points for an event, before multipliers, and how they were worked out. */
export function basePoints(reward: Reward, context: EvaluationContext): { points: number; detail: string } {
  if (reward.type === "fixed") {
    return { points: reward.points, detail: `${reward.points} fixed` };
  }
  const basis = reward.basis ?? "subtotal";
  const rate = `${reward.points} per ${formatMoney(reward.per)}`;
  const order = context.order;
  if (order === undefined || order === null) {
    return { points: 0, detail: `${rate}, but the event has no order` };
  }
  const amount = order[basis];
  if (amount.currency !== reward.per.currency) {
    return { points: 0, detail: `${rate}, but the order ${basis} is in ${amount.currency}` };
  }
  if (amount.amount <= 0) {
    return { points: 0, detail: `${rate} on a ${basis} of ${formatMoney(amount)}` };
  }
  const rounding = reward.rounding ?? "floor";
  const product = BigInt(amount.amount) * BigInt(reward.points);
  const divisor = BigInt(reward.per.amount);
  const exact = divideRounded(product, divisor, rounding);
  const points = saturate(exact);
  const notes = [
    ...(product % divisor === 0n ? [] : [roundingWords[rounding]]),
    ...(points < exact ? [`capped at ${maxPointsPerAward}`] : []),
  ];
  return {
    points: Number(points),
    detail: [`${rate} on a ${basis} of ${formatMoney(amount)}`, ...notes].join(", "),
  };
}

/** The base times every fraction, applied as one product and rounded once. */
export function multiplyPoints(
  base: number,
  multipliers: readonly { numerator: number; denominator: number }[],
  rounding: Rounding,
): number {
  const numerator = multipliers.reduce((product, m) => product * BigInt(m.numerator), BigInt(base));
  const denominator = multipliers.reduce((product, m) => product * BigInt(m.denominator), 1n);
  return Number(saturate(divideRounded(numerator, denominator, rounding)));
}

export interface RewardInput {
  reward: Reward;
  multipliers?: readonly Multiplier[] | undefined;
  maxPointsPerEvent?: number | null | undefined;
}

export interface RewardResult {
  base: number;
  baseDetail: string;
  multipliers: MultiplierLine[];
  multiplied: number;
  /** The per-event cap, when it cut the points. */
  cut: LimitCut | null;
  points: number;
}

/** Points for a rule that matched, before period limits. */
export function computeReward(input: RewardInput, context: EvaluationContext): RewardResult {
  const base = basePoints(input.reward, context);
  const lines: MultiplierLine[] = (input.multipliers ?? []).map((multiplier, index) => {
    const condition =
      multiplier.when === undefined
        ? null
        : evaluateConditions(multiplier.when, context, { pointer: `/multipliers/${index}/when` });
    return {
      label: multiplier.label ?? null,
      numerator: multiplier.numerator,
      denominator: multiplier.denominator ?? 1,
      applied: condition === null || condition.matched,
      reason: condition === null || condition.matched ? null : condition.trace.reason,
    };
  });
  // A tier's multiplier rewards purchases: it applies to every rule on order.paid events.
  const tier = context.member.tierMultiplier;
  if (tier && context.event.type === "order.paid") {
    lines.push({
      label: tier.label,
      numerator: tier.numerator,
      denominator: tier.denominator,
      applied: true,
      reason: null,
    });
  }
  const multiplied = multiplyPoints(
    base.points,
    lines.filter((line) => line.applied),
    input.reward.rounding ?? "floor",
  );
  const cap = input.maxPointsPerEvent ?? null;
  const cut: LimitCut | null =
    cap !== null && multiplied > cap
      ? { limit: "per_event", max_points: cap, max_awards: null, cut: multiplied - cap }
      : null;
  return {
    base: base.points,
    baseDetail: base.detail,
    multipliers: lines,
    multiplied,
    cut,
    points: multiplied - (cut?.cut ?? 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Validation

export interface RewardValidationOptions {
  pointer?: string;
  /** The shop currency: a rate in another currency is refused. */
  currency?: string;
}

const roundingMessage = `must be one of ${roundingModes.join(", ")}`;

/** Every problem of a reward as written in a rule, with pointers from `options.pointer` (default `/reward`). */
export function validateReward(json: unknown, options: RewardValidationOptions = {}): FieldError[] {
  const pointer = options.pointer ?? "/reward";
  if (!isPlainObject(json)) {
    return [{ pointer, message: 'must be a reward such as {"type": "fixed", "points": 200}' }];
  }
  const errors: FieldError[] = [];
  if (json.rounding !== undefined && !(roundingModes as readonly unknown[]).includes(json.rounding)) {
    errors.push({ pointer: `${pointer}/rounding`, message: roundingMessage });
  }
  if (json.type === "fixed") {
    errors.push(...unknownProperties(json, ["type", "points", "rounding"], pointer, "a fixed reward"));
    if (!isIntegerIn(json.points, 1, maxFixedPoints)) {
      errors.push({ pointer: `${pointer}/points`, message: `must be a whole number from 1 to ${maxFixedPoints}` });
    }
    return errors;
  }
  if (json.type === "per_currency_unit") {
    errors.push(
      ...unknownProperties(json, ["type", "points", "per", "basis", "rounding"], pointer, "a per_currency_unit reward"),
    );
    if (!isIntegerIn(json.points, 1, maxPointsPerUnit)) {
      errors.push({ pointer: `${pointer}/points`, message: `must be a whole number from 1 to ${maxPointsPerUnit}` });
    }
    const per = validateMoney(json.per, `${pointer}/per`, options.currency);
    if (per.length === 0 && (json.per as Money).amount < 1) {
      per.push({ pointer: `${pointer}/per/amount`, message: "must be at least 1 minor unit" });
    }
    errors.push(...per);
    if (json.basis !== undefined && json.basis !== "subtotal" && json.basis !== "total") {
      errors.push({ pointer: `${pointer}/basis`, message: "must be subtotal or total" });
    }
    return errors;
  }
  return [{ pointer: `${pointer}/type`, message: "must be fixed or per_currency_unit" }, ...errors];
}

/** Every problem of a rule's multipliers, with pointers from `options.pointer` (default `/multipliers`). */
export function validateMultipliers(json: unknown, options: RewardValidationOptions = {}): FieldError[] {
  const pointer = options.pointer ?? "/multipliers";
  if (!Array.isArray(json) || json.length > maxMultipliers) {
    return [{ pointer, message: `must be a list of at most ${maxMultipliers} multipliers` }];
  }
  return json.flatMap((multiplier, index): FieldError[] => {
    const at = `${pointer}/${index}`;
    if (!isPlainObject(multiplier)) {
      return [{ pointer: at, message: 'must be a multiplier such as {"numerator": 3, "denominator": 2}' }];
    }
    const errors = unknownProperties(multiplier, ["numerator", "denominator", "label", "when"], at, "a multiplier");
    const term = `must be a whole number from 1 to ${maxMultiplierTerm}`;
    if (!isIntegerIn(multiplier.numerator, 1, maxMultiplierTerm)) {
      errors.push({ pointer: `${at}/numerator`, message: term });
    }
    if (multiplier.denominator !== undefined && !isIntegerIn(multiplier.denominator, 1, maxMultiplierTerm)) {
      errors.push({ pointer: `${at}/denominator`, message: term });
    }
    const { label } = multiplier;
    if (label !== undefined && (typeof label !== "string" || label.length === 0 || label.length > 100)) {
      errors.push({ pointer: `${at}/label`, message: "must be a non-empty string of at most 100 characters" });
    }
    if (multiplier.when !== undefined) {
      errors.push(...validateConditions(multiplier.when, { pointer: `${at}/when`, currency: options.currency }));
    }
    return errors;
  });
}
