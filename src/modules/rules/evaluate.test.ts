import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EvaluationContext } from "./conditions.js";
import { evaluateRule, evaluateRules, type RuleDefinition, validateRule } from "./evaluate.js";
import { describeRuleExplanation, explain, type RuleExplanation } from "./explain.js";

/* The examples of docs/earning-rules.md, evaluated end to end. */

const spendAndEarn: RuleDefinition = {
  id: "rul_spend",
  version: 3,
  name: "10 points per $1",
  event_type: "order.paid",
  reward: { type: "per_currency_unit", points: 10, per: { amount: 100, currency: "USD" } },
  multipliers: [
    { numerator: 2, label: "birthday", when: { field: "member.is_birthday", op: "eq", value: true } },
    { numerator: 3, denominator: 2, label: "Gold tier", when: { field: "member.tier", op: "eq", value: "gold" } },
  ],
  max_points_per_event: 5000,
  limits: [{ period: "day", max_points: 2000 }],
};

const review: RuleDefinition = {
  id: "rul_review",
  version: 1,
  name: "200 for a review",
  event_type: "review.created",
  reward: { type: "fixed", points: 200 },
  limits: [{ period: "month", max_awards: 2 }],
};

const instagram: RuleDefinition = {
  id: "rul_instagram",
  version: 1,
  name: "Follow us on Instagram",
  event_type: "social.followed",
  conditions: { field: "event.network", op: "eq", value: "instagram" },
  reward: { type: "fixed", points: 50 },
  limits: [{ period: "lifetime", max_awards: 1 }],
};

function orderPaid(subtotal: number, member: Partial<EvaluationContext["member"]> = {}): EvaluationContext {
  return {
    event: { type: "order.paid", occurredAt: "2026-06-10T15:00:00Z" },
    order: {
      subtotal: { amount: subtotal, currency: "USD" },
      total: { amount: subtotal, currency: "USD" },
      currency: "USD",
      productIds: [],
      productTags: [],
      collections: [],
      channel: "web",
      country: "US",
      isFirstOrder: false,
    },
    member: { tier: null, tags: [], isBirthday: false, ...member },
    shop: { timezone: "America/New_York", currency: "USD" },
  };
}

function event(type: string, network?: string): EvaluationContext {
  return {
    event: { type, occurredAt: "2026-06-10T15:00:00Z", network: network ?? null },
    member: { tier: null, tags: [], isBirthday: false },
    shop: { timezone: "America/New_York", currency: "USD" },
  };
}

describe("evaluateRule", () => {
  it("10 points per $1 on $64.99 is 649", () => {
    const explanation = evaluateRule(spendAndEarn, orderPaid(6499));
    expect(explanation).toEqual({
      rule_id: "rul_spend",
      version: 3,
      name: "10 points per $1",
      matched: true,
      reason: null,
      base: 649,
      base_detail: "10 per 1.00 USD on a subtotal of 64.99 USD, rounded down",
      multipliers: [
        {
          label: "birthday",
          numerator: 2,
          denominator: 1,
          applied: false,
          reason: "member.is_birthday is false, not true",
        },
        {
          label: "Gold tier",
          numerator: 3,
          denominator: 2,
          applied: false,
          reason: 'member.tier is none, not "gold"',
        },
      ],
      multiplied: 649,
      limit_cuts: [],
      awarded: 649,
    } satisfies RuleExplanation);
    expect(describeRuleExplanation(explanation)).toBe(
      '"10 points per $1" (v3) gave 649 points: 649 base (10 per 1.00 USD on a subtotal of 64.99 USD, rounded down).',
    );
  });

  it("double points on a Gold member's birthday: 649 × 2 × 3/2", () => {
    const explanation = evaluateRule(spendAndEarn, orderPaid(6499, { isBirthday: true, tier: "gold" }));
    expect(explanation).toMatchObject({ base: 649, multiplied: 1947, awarded: 1947, limit_cuts: [] });
    expect(describeRuleExplanation(explanation)).toBe(
      '"10 points per $1" (v3) gave 1947 points: 649 base (10 per 1.00 USD on a subtotal of 64.99 USD, rounded down), ×2 birthday, ×3/2 Gold tier.',
    );
  });

  it("the per-event cap, then the daily limit, each cut what is over them", () => {
    const explanation = evaluateRule(spendAndEarn, orderPaid(300_000, { isBirthday: true }), {
      day: { points: 400, awards: 1 },
    });
    expect(explanation).toMatchObject({
      base: 30_000,
      multiplied: 60_000,
      limit_cuts: [
        { limit: "per_event", max_points: 5000, max_awards: null, cut: 55_000 },
        { limit: "day", max_points: 2000, max_awards: null, cut: 3400 },
      ],
      awarded: 1600,
    });
    expect(describeRuleExplanation(explanation)).toBe(
      '"10 points per $1" (v3) gave 1600 points: 30000 base (10 per 1.00 USD on a subtotal of 3000.00 USD), ×2 birthday; the cap of 5000 points per event cut 55000; the daily limit of 2000 points cut 3400.',
    );
  });

  it("each limit takes from what the limits before it left", () => {
    const rule: RuleDefinition = {
      ...spendAndEarn,
      limits: [
        { period: "day", max_points: 2000 },
        { period: "month", max_points: 10_000 },
      ],
    };
    const explanation = evaluateRule(rule, orderPaid(100_000), {
      day: { points: 400, awards: 1 },
      month: { points: 9500, awards: 12 },
    });
    expect(explanation).toMatchObject({
      multiplied: 10_000,
      limit_cuts: [
        { limit: "per_event", cut: 5000 },
        { limit: "day", cut: 3400 },
        { limit: "month", cut: 1100 },
      ],
      awarded: 500,
    });
  });

  it("usage of other periods does not count against a daily limit", () => {
    expect(evaluateRule(spendAndEarn, orderPaid(1000), { month: { points: 99_999, awards: 50 } }).awarded).toBe(100);
  });

  it("200 for a review, twice a month", () => {
    expect(evaluateRule(review, event("review.created"), { month: { points: 200, awards: 1 } })).toMatchObject({
      matched: true,
      base: 200,
      base_detail: "200 fixed",
      awarded: 200,
    });
    const third = evaluateRule(review, event("review.created"), { month: { points: 400, awards: 2 } });
    expect(third).toMatchObject({
      matched: true,
      limit_cuts: [{ limit: "month", max_points: null, max_awards: 2, cut: 200 }],
      awarded: 0,
    });
    expect(describeRuleExplanation(third)).toBe(
      '"200 for a review" (v1) matched but gave no points: 200 base (200 fixed); the monthly limit of 2 awards cut 200.',
    );
  });

  it("50 for following on Instagram, once", () => {
    expect(evaluateRule(instagram, event("social.followed", "instagram"))).toMatchObject({ awarded: 50 });
    const again = evaluateRule(instagram, event("social.followed", "instagram"), {
      lifetime: { points: 50, awards: 1 },
    });
    expect(again).toMatchObject({ awarded: 0, limit_cuts: [{ limit: "lifetime", max_awards: 1, cut: 50 }] });
    expect(describeRuleExplanation(again)).toContain("the lifetime limit of 1 award cut 50");
    const tiktok = evaluateRule(instagram, event("social.followed", "tiktok"));
    expect(tiktok).toMatchObject({ matched: false, reason: 'event.network is "tiktok", not "instagram"', awarded: 0 });
    expect(describeRuleExplanation(tiktok)).toBe(
      '"Follow us on Instagram" (v1) did not apply: event.network is "tiktok", not "instagram".',
    );
  });

  it("a rule for another event type does not apply, and says so", () => {
    expect(evaluateRule(review, orderPaid(1000))).toEqual({
      rule_id: "rul_review",
      version: 1,
      name: "200 for a review",
      matched: false,
      reason: "the rule runs on review.created events, and this is order.paid",
      base: 0,
      base_detail: null,
      multipliers: [],
      multiplied: 0,
      limit_cuts: [],
      awarded: 0,
    } satisfies RuleExplanation);
  });

  it("names a rule without a name by its id", () => {
    const unnamed = evaluateRule({ ...review, name: null }, event("order.paid"));
    expect(describeRuleExplanation(unnamed)).toMatch(/^"rul_review" \(v1\) did not apply: /);
    expect(describeRuleExplanation({ ...unnamed, reason: null })).toBe(
      '"rul_review" (v1) did not apply: its conditions did not hold.',
    );
  });
});

describe("property", () => {
  it("awarded + every cut = multiplied, and no points limit is passed", () => {
    const rule: RuleDefinition = {
      ...spendAndEarn,
      limits: [
        { period: "day", max_points: 2000 },
        { period: "week", max_awards: 5 },
        { period: "month", max_points: 10_000 },
      ],
    };
    const usage = fc.record({ points: fc.integer({ min: 0, max: 12_000 }), awards: fc.integer({ min: 0, max: 8 }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.boolean(),
        fc.constantFrom("gold", null),
        usage,
        usage,
        usage,
        (subtotal, isBirthday, tier, day, week, month) => {
          const result = evaluateRule(rule, orderPaid(subtotal, { isBirthday, tier }), { day, week, month });
          expect(result.awarded + result.limit_cuts.reduce((total, cut) => total + cut.cut, 0)).toBe(result.multiplied);
          expect(result.awarded).toBeLessThanOrEqual(5000);
          expect(result.awarded).toBeLessThanOrEqual(Math.max(0, 2000 - day.points));
          expect(result.awarded).toBeLessThanOrEqual(Math.max(0, 10_000 - month.points));
          if (week.awards >= 5) {
            expect(result.awarded).toBe(0);
          }
        },
      ),
    );
  });
});

describe("evaluateRules", () => {
  it("explains every rule and adds them up", () => {
    const rules = [spendAndEarn, review, instagram];
    const explanation = evaluateRules(rules, orderPaid(300_000, { isBirthday: true }), {
      rul_spend: { day: { points: 400, awards: 1 } },
    });
    expect(explanation.rules.map((rule) => [rule.rule_id, rule.matched, rule.awarded])).toEqual([
      ["rul_spend", true, 1600],
      ["rul_review", false, 0],
      ["rul_instagram", false, 0],
    ]);
    expect(explanation.totals).toEqual({
      matched_rules: 1,
      base: 30_000,
      multiplied: 60_000,
      cut: 58_400,
      awarded: 1600,
    });
  });

  it("adds up several matching rules", () => {
    const bonus: RuleDefinition = {
      id: "rul_bonus",
      version: 1,
      event_type: "order.paid",
      reward: { type: "fixed", points: 25 },
    };
    expect(evaluateRules([spendAndEarn, bonus], orderPaid(1000)).totals).toEqual({
      matched_rules: 2,
      base: 125,
      multiplied: 125,
      cut: 0,
      awarded: 125,
    });
    expect(explain([]).totals).toEqual({ matched_rules: 0, base: 0, multiplied: 0, cut: 0, awarded: 0 });
  });
});

describe("validateRule", () => {
  const { id: _id, version: _version, ...body } = spendAndEarn;

  it("accepts the documented examples", () => {
    for (const rule of [spendAndEarn, review, instagram]) {
      expect(validateRule(rule, { currency: "USD" })).toEqual([]);
    }
  });

  it("points into every part of the rule", () => {
    expect(validateRule(null)).toEqual([{ pointer: "", message: "must be a rule object" }]);
    expect(
      validateRule(
        {
          ...body,
          event_type: "Order Paid",
          conditions: { all: [{ field: "order.subtotal", op: "gte", value: { amount: 100, currency: "EUR" } }] },
          reward: { type: "fixed", points: -1 },
          multipliers: [{ numerator: 0 }],
          max_points_per_event: 0,
          limits: [{ period: "daily", max_points: 10 }],
        },
        { currency: "USD" },
      ).map((error) => error.pointer),
    ).toEqual([
      "/event_type",
      "/conditions/all/0/value/currency",
      "/reward/points",
      "/multipliers/0/numerator",
      "/max_points_per_event",
      "/limits/0/period",
    ]);
    expect(validateRule({ ...body, conditions: null, max_points_per_event: null })).toEqual([]);
    expect(validateRule({ event_type: "birthday", reward: { type: "fixed", points: 500 } })).toEqual([]);
  });
});

describe("docs/earning-rules.md", () => {
  it("every whole rule in the guide is valid", () => {
    const guide = readFileSync(new URL("../../../docs/earning-rules.md", import.meta.url), "utf8");
    const rules = [...guide.matchAll(/```json\n([\s\S]*?)```/g)]
      .flatMap(([, block]) => {
        try {
          return [JSON.parse(block ?? "") as unknown];
        } catch {
          return [];
        }
      })
      .filter(
        (json): json is Record<string, unknown> => typeof json === "object" && json !== null && "event_type" in json,
      );
    expect(rules.length).toBeGreaterThanOrEqual(7);
    for (const rule of rules) {
      expect(validateRule(rule, { currency: "USD" }), JSON.stringify(rule)).toEqual([]);
    }
  });
});
