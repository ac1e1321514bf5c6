import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EvaluationContext, OrderFacts } from "./conditions.js";
import type { Money } from "./money.js";
import {
  basePoints,
  computeReward,
  divideRounded,
  maxPointsPerAward,
  multiplyPoints,
  type Reward,
  type Rounding,
  validateMultipliers,
  validateReward,
} from "./rewards.js";

function context(
  subtotal: Money | null,
  overrides: Partial<OrderFacts> = {},
  tier: string | null = "gold",
): EvaluationContext {
  return {
    event: { type: subtotal === null ? "review.created" : "order.paid", occurredAt: "2026-06-13T15:00:00Z" },
    order:
      subtotal === null
        ? null
        : {
            subtotal,
            total: subtotal,
            currency: subtotal.currency,
            productIds: [],
            productTags: [],
            collections: [],
            channel: "web",
            country: null,
            isFirstOrder: false,
            ...overrides,
          },
    member: { tier, tags: [], isBirthday: false },
    shop: { timezone: "America/New_York", currency: subtotal?.currency ?? "USD" },
  };
}

const perDollar = (rounding?: Rounding): Reward => ({
  type: "per_currency_unit",
  points: 10,
  per: { amount: 100, currency: "USD" },
  ...(rounding === undefined ? {} : { rounding }),
});

const base = (reward: Reward, amount: Money | null) => basePoints(reward, context(amount));

describe("divideRounded", () => {
  it.each<[bigint, bigint, Rounding, bigint]>([
    [1999n, 10n, "floor", 199n],
    [1999n, 10n, "round_half_up", 200n],
    [1999n, 10n, "ceil", 200n],
    [1995n, 10n, "round_half_up", 200n],
    [1994n, 10n, "round_half_up", 199n],
    [1990n, 10n, "ceil", 199n],
    [0n, 7n, "ceil", 0n],
    [1n, 3n, "round_half_up", 0n],
    [2n, 3n, "round_half_up", 1n],
  ])("%s / %s, %s = %s", (numerator, denominator, rounding, expected) => {
    expect(divideRounded(numerator, denominator, rounding)).toBe(expected);
  });
});

describe("base points", () => {
  it("fixed points are the points", () => {
    expect(base({ type: "fixed", points: 200 }, null)).toEqual({ points: 200, detail: "200 fixed" });
  });

  it("10 points per 1.00 USD on 19.99 USD: 199 rounded down (the default), 200 half up or up", () => {
    expect(base(perDollar(), { amount: 1999, currency: "USD" })).toEqual({
      points: 199,
      detail: "10 per 1.00 USD on a subtotal of 19.99 USD, rounded down",
    });
    expect(base(perDollar("floor"), { amount: 1999, currency: "USD" }).points).toBe(199);
    expect(base(perDollar("round_half_up"), { amount: 1999, currency: "USD" }).points).toBe(200);
    expect(base(perDollar("ceil"), { amount: 1999, currency: "USD" }).points).toBe(200);
    expect(base(perDollar("round_half_up"), { amount: 1994, currency: "USD" }).points).toBe(199);
    expect(base(perDollar("round_half_up"), { amount: 1995, currency: "USD" }).points).toBe(200);
  });

  it("says nothing about rounding when nothing was rounded", () => {
    expect(base(perDollar("ceil"), { amount: 2000, currency: "USD" })).toEqual({
      points: 200,
      detail: "10 per 1.00 USD on a subtotal of 20.00 USD",
    });
  });

  it("JPY has no minor unit: 1 point per 100 JPY on 1980 JPY is 19, or 20 half up", () => {
    const reward = (rounding: Rounding): Reward => ({
      type: "per_currency_unit",
      points: 1,
      per: { amount: 100, currency: "JPY" },
      rounding,
    });
    const yen = { amount: 1980, currency: "JPY" };
    expect(base(reward("floor"), yen)).toEqual({
      points: 19,
      detail: "1 per 100 JPY on a subtotal of 1980 JPY, rounded down",
    });
    expect(base(reward("round_half_up"), yen).points).toBe(20);
    expect(base(reward("ceil"), yen).points).toBe(20);
  });

  it("KWD has three decimals: 1 point per 1.000 KWD on 12.345 KWD is 12, 12 half up, 13 up", () => {
    const reward = (rounding: Rounding): Reward => ({
      type: "per_currency_unit",
      points: 1,
      per: { amount: 1000, currency: "KWD" },
      rounding,
    });
    const dinars = { amount: 12345, currency: "KWD" };
    expect(base(reward("floor"), dinars)).toEqual({
      points: 12,
      detail: "1 per 1.000 KWD on a subtotal of 12.345 KWD, rounded down",
    });
    expect(base(reward("round_half_up"), dinars).points).toBe(12);
    expect(base(reward("ceil"), dinars).points).toBe(13);
    expect(base(reward("round_half_up"), { amount: 12500, currency: "KWD" }).points).toBe(13);
  });

  it("earns on the total when told to", () => {
    const reward: Reward = {
      type: "per_currency_unit",
      points: 10,
      per: { amount: 100, currency: "USD" },
      basis: "total",
    };
    const ctx = context({ amount: 1000, currency: "USD" }, { total: { amount: 1550, currency: "USD" } });
    expect(basePoints(reward, ctx)).toEqual({ points: 155, detail: "10 per 1.00 USD on a total of 15.50 USD" });
  });

  it("gives nothing without an order, in another currency, or on nothing", () => {
    expect(base(perDollar(), null)).toEqual({ points: 0, detail: "10 per 1.00 USD, but the event has no order" });
    expect(base(perDollar(), { amount: 1999, currency: "EUR" })).toEqual({
      points: 0,
      detail: "10 per 1.00 USD, but the order subtotal is in EUR",
    });
    expect(base(perDollar("ceil"), { amount: 0, currency: "USD" })).toEqual({
      points: 0,
      detail: "10 per 1.00 USD on a subtotal of 0.00 USD",
    });
    expect(base(perDollar("ceil"), { amount: -500, currency: "USD" })).toEqual({
      points: 0,
      detail: "10 per 1.00 USD on a subtotal of -5.00 USD",
    });
  });

  it("is exact where floats are not", () => {
    // 9007199254728571 × 7 = 63050394783099997 is past 2^53; as a float it rounds to ...100000 and floors to one too many.
    const reward: Reward = { type: "per_currency_unit", points: 7, per: { amount: 100_000, currency: "USD" } };
    const amount = 9_007_199_254_728_571;
    expect(Math.floor((amount * 7) / 100_000)).toBe(630_503_947_831);
    expect(base(reward, { amount, currency: "USD" }).points).toBe(630_503_947_830);
  });

  it("stops at the largest award", () => {
    const reward: Reward = { type: "per_currency_unit", points: 1_000_000, per: { amount: 1, currency: "USD" } };
    expect(base(reward, { amount: 9_000_000_000_000, currency: "USD" })).toEqual({
      points: maxPointsPerAward,
      detail: `1000000 per 0.01 USD on a subtotal of 90000000000.00 USD, capped at ${maxPointsPerAward}`,
    });
  });
});

describe("multipliers", () => {
  it("double points, 3/2 for Gold, both at once with one rounding", () => {
    expect(multiplyPoints(199, [{ numerator: 2, denominator: 1 }], "floor")).toBe(398);
    expect(multiplyPoints(199, [{ numerator: 3, denominator: 2 }], "floor")).toBe(298);
    expect(multiplyPoints(199, [{ numerator: 3, denominator: 2 }], "round_half_up")).toBe(299);
    expect(multiplyPoints(199, [{ numerator: 3, denominator: 2 }], "ceil")).toBe(299);
    // 199 × 3/2 × 5/4 = 373.125: rounded once, not 298 × 5/4 = 372.5 → 372.
    expect(
      multiplyPoints(
        199,
        [
          { numerator: 3, denominator: 2 },
          { numerator: 5, denominator: 4 },
        ],
        "floor",
      ),
    ).toBe(373);
    expect(multiplyPoints(199, [], "ceil")).toBe(199);
  });

  it("applies the multipliers whose condition holds, and says why the others did not", () => {
    const result = computeReward(
      {
        reward: perDollar(),
        multipliers: [
          { numerator: 2, label: "Weekend" },
          { numerator: 3, denominator: 2, label: "Gold", when: { field: "member.tier", op: "eq", value: "gold" } },
          {
            numerator: 5,
            label: "Platinum",
            when: { any: [{ field: "member.tier", op: "eq", value: "platinum" }] },
          },
        ],
      },
      context({ amount: 1999, currency: "USD" }),
    );
    expect(result).toEqual({
      base: 199,
      baseDetail: "10 per 1.00 USD on a subtotal of 19.99 USD, rounded down",
      multipliers: [
        { label: "Weekend", numerator: 2, denominator: 1, applied: true, reason: null },
        { label: "Gold", numerator: 3, denominator: 2, applied: true, reason: null },
        {
          label: "Platinum",
          numerator: 5,
          denominator: 1,
          applied: false,
          reason: 'none of the alternatives holds (member.tier is "gold", not "platinum")',
        },
      ],
      multiplied: 597,
      cut: null,
      points: 597,
    });
  });

  it("the per-event cap cuts what is over it", () => {
    const input = { reward: perDollar(), multipliers: [{ numerator: 2 }], maxPointsPerEvent: 300 };
    expect(computeReward(input, context({ amount: 1999, currency: "USD" }))).toMatchObject({
      base: 199,
      multiplied: 398,
      cut: { limit: "per_event", max_points: 300, max_awards: null, cut: 98 },
      points: 300,
    });
    expect(computeReward(input, context({ amount: 1500, currency: "USD" }))).toMatchObject({
      multiplied: 300,
      cut: null,
      points: 300,
    });
  });
});

describe("properties", () => {
  const rounding = fc.constantFrom<Rounding>("floor", "round_half_up", "ceil");
  // Mostly shop-sized amounts, where nothing reaches the largest award, and some up to 2^53.
  const amount = fc.oneof(
    fc.integer({ min: 0, max: 100_000_000 }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  );
  const rate = fc.record({
    points: fc.integer({ min: 1, max: 1_000_000 }),
    per: fc.integer({ min: 1, max: 1_000_000_000 }),
  });
  const fraction = fc.record({
    numerator: fc.integer({ min: 1, max: 1000 }),
    denominator: fc.integer({ min: 1, max: 1000 }),
  });
  const reward = (points: number, per: number, mode: Rounding): Reward => ({
    type: "per_currency_unit",
    points,
    per: { amount: per, currency: "USD" },
    rounding: mode,
  });
  const pointsFor = (value: number, points: number, per: number, mode: Rounding) =>
    base(reward(points, per, mode), { amount: value, currency: "USD" }).points;

  it("floor ≤ exact ≤ ceil, each within one point, and half up within half a point", () => {
    fc.assert(
      fc.property(amount, rate, (value, { points, per }) => {
        const exact = BigInt(value) * BigInt(points);
        const floor = BigInt(pointsFor(value, points, per, "floor"));
        const ceil = BigInt(pointsFor(value, points, per, "ceil"));
        const halfUp = BigInt(pointsFor(value, points, per, "round_half_up"));
        const divisor = BigInt(per);
        if (ceil < BigInt(maxPointsPerAward)) {
          expect(floor * divisor <= exact && exact < (floor + 1n) * divisor).toBe(true);
          expect((ceil - 1n) * divisor < exact && exact <= ceil * divisor).toBe(true);
          // |halfUp − exact| ≤ ½, and a tie goes up.
          const twice = 2n * (halfUp * divisor - exact);
          expect(-divisor < twice && twice <= divisor).toBe(true);
        }
        expect(floor <= halfUp && halfUp <= ceil && ceil - floor <= 1n).toBe(true);
      }),
    );
  });

  it("more order, more points", () => {
    fc.assert(
      fc.property(amount, amount, rate, rounding, (a, b, { points, per }, mode) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(pointsFor(low, points, per, mode)).toBeLessThanOrEqual(pointsFor(high, points, per, mode));
      }),
    );
  });

  it("a larger multiplier never gives fewer points, and multiplying is exact up to rounding", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.array(fraction, { maxLength: 3 }),
        fraction,
        fraction,
        rounding,
        (points, others, x, y, mode) => {
          const [small, large] = x.numerator * y.denominator <= y.numerator * x.denominator ? [x, y] : [y, x];
          const withSmall = multiplyPoints(points, [...others, small], mode);
          const withLarge = multiplyPoints(points, [...others, large], mode);
          expect(withSmall).toBeLessThanOrEqual(withLarge);
          const all = [...others, small];
          const numerator = all.reduce((p, m) => p * BigInt(m.numerator), BigInt(points));
          const denominator = all.reduce((p, m) => p * BigInt(m.denominator), 1n);
          const result = BigInt(withSmall);
          if (result < BigInt(maxPointsPerAward)) {
            // result − exact, times the denominator: in [−d, 0] down, [0, d) up, (−d/2, d/2] half up.
            const error = result * denominator - numerator;
            const within = {
              floor: -denominator < error && error <= 0n,
              ceil: 0n <= error && error < denominator,
              round_half_up: -denominator < 2n * error && 2n * error <= denominator,
            }[mode];
            expect(within).toBe(true);
          }
        },
      ),
    );
  });

  it("the cap holds: never more than max_points_per_event, and nothing lost below it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.array(fraction, { maxLength: 2 }),
        (value, cap, multipliers) => {
          const result = computeReward(
            { reward: perDollar(), multipliers, maxPointsPerEvent: cap },
            context({ amount: value, currency: "USD" }),
          );
          expect(result.points).toBe(Math.min(result.multiplied, cap));
          expect(result.points + (result.cut?.cut ?? 0)).toBe(result.multiplied);
        },
      ),
    );
  });
});

describe("validateReward", () => {
  it("accepts the reward types", () => {
    expect(validateReward({ type: "fixed", points: 200 })).toEqual([]);
    expect(validateReward({ type: "fixed", points: 25, rounding: "ceil" })).toEqual([]);
    expect(
      validateReward(
        {
          type: "per_currency_unit",
          points: 10,
          per: { amount: 100, currency: "USD" },
          rounding: "round_half_up",
          basis: "total",
        },
        { currency: "USD" },
      ),
    ).toEqual([]);
  });

  it.each<[string, unknown, string[]]>([
    ["not an object", 200, ["/reward"]],
    ["unknown type", { type: "percent", points: 5 }, ["/reward/type"]],
    ["no points", { type: "fixed" }, ["/reward/points"]],
    ["zero points", { type: "fixed", points: 0 }, ["/reward/points"]],
    ["fractional points", { type: "fixed", points: 1.5 }, ["/reward/points"]],
    ["fixed with a rate", { type: "fixed", points: 5, per: { amount: 100, currency: "USD" } }, ["/reward/per"]],
    ["bad rounding", { type: "fixed", points: 5, rounding: "bankers" }, ["/reward/rounding"]],
    ["rate without per", { type: "per_currency_unit", points: 10 }, ["/reward/per"]],
    [
      "rate per zero",
      { type: "per_currency_unit", points: 10, per: { amount: 0, currency: "USD" } },
      ["/reward/per/amount"],
    ],
    [
      "rate per float",
      { type: "per_currency_unit", points: 10, per: { amount: 1.5, currency: "USD" } },
      ["/reward/per/amount"],
    ],
    [
      "rate too generous",
      { type: "per_currency_unit", points: 1_000_001, per: { amount: 100, currency: "USD" } },
      ["/reward/points"],
    ],
    [
      "rate in the wrong currency",
      { type: "per_currency_unit", points: 10, per: { amount: 100, currency: "EUR" } },
      ["/reward/per/currency"],
    ],
    [
      "unknown basis",
      { type: "per_currency_unit", points: 10, per: { amount: 100, currency: "USD" }, basis: "net" },
      ["/reward/basis"],
    ],
  ])("%s", (_name, json, pointers) => {
    expect(validateReward(json, { currency: "USD" }).map((error) => error.pointer)).toEqual(pointers);
  });
});

describe("validateMultipliers", () => {
  it("accepts fractions, labels and conditions", () => {
    expect(
      validateMultipliers([
        { numerator: 2 },
        { numerator: 3, denominator: 2, label: "Gold", when: { field: "member.tier", op: "eq", value: "gold" } },
      ]),
    ).toEqual([]);
  });

  it("points at every problem", () => {
    expect(validateMultipliers({ numerator: 2 })).toEqual([{ pointer: "/multipliers", message: expect.any(String) }]);
    expect(validateMultipliers(Array.from({ length: 11 }, () => ({ numerator: 2 })))).toHaveLength(1);
    expect(
      validateMultipliers(
        [
          2,
          { numerator: 1.5 },
          { numerator: 0 },
          { numerator: 3, denominator: 0 },
          { numerator: 1001 },
          { numerator: 2, label: "" },
          { numerator: 2, factor: 2 },
          { numerator: 2, when: { field: "order.subtotal", op: "gte", value: { amount: 1, currency: "EUR" } } },
        ],
        { pointer: "/rule/multipliers", currency: "USD" },
      ).map((error) => error.pointer),
    ).toEqual([
      "/rule/multipliers/0",
      "/rule/multipliers/1/numerator",
      "/rule/multipliers/2/numerator",
      "/rule/multipliers/3/denominator",
      "/rule/multipliers/4/numerator",
      "/rule/multipliers/5/label",
      "/rule/multipliers/6/factor",
      "/rule/multipliers/7/when/value/currency",
    ]);
  });
});
