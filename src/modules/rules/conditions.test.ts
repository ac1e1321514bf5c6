import { describe, expect, it } from "vitest";
import {
  type Condition,
  type ConditionTrace,
  conditionFields,
  conditionOperators,
  describeCondition,
  type EvaluationContext,
  evaluateConditions,
  maxConditionDepth,
  maxConditionNodes,
  type OrderFacts,
  validateConditions,
} from "./conditions.js";

const usd = (amount: number) => ({ amount, currency: "USD" });

function order(overrides: Partial<OrderFacts> = {}): OrderFacts {
  return {
    subtotal: usd(6000),
    total: usd(6500),
    currency: "USD",
    productIds: ["prod_1", "prod_2"],
    productTags: ["Coffee", "beans"],
    collections: ["summer"],
    channel: "web",
    country: "US",
    isFirstOrder: false,
    ...overrides,
  };
}

function context(
  overrides: {
    event?: Partial<EvaluationContext["event"]>;
    order?: Partial<OrderFacts> | null;
    member?: Partial<EvaluationContext["member"]>;
    timezone?: string;
  } = {},
): EvaluationContext {
  return {
    event: { type: "order.paid", occurredAt: "2026-06-10T15:00:00.000Z", ...overrides.event },
    order: overrides.order === null ? null : order(overrides.order),
    member: { tier: "gold", tags: ["VIP", "newsletter"], isBirthday: false, ...overrides.member },
    shop: { timezone: overrides.timezone ?? "America/New_York", currency: "USD" },
  };
}

function matches(condition: Condition, ctx: EvaluationContext = context()): boolean {
  return evaluateConditions(condition, ctx).matched;
}

function reasonOf(condition: Condition, ctx: EvaluationContext = context()): string | null {
  return evaluateConditions(condition, ctx).trace.reason;
}

const example = {
  all: [
    { field: "order.subtotal", op: "gte", value: { amount: 5000, currency: "USD" } },
    { field: "order.product_tags", op: "contains_any", value: ["coffee"] },
    { not: { field: "order.channel", op: "eq", value: "pos" } },
  ],
} satisfies Condition;

describe("the example from the issue", () => {
  it("is valid and matches a 60.00 USD web order with coffee", () => {
    expect(validateConditions(example)).toEqual([]);
    expect(matches(example)).toBe(true);
    expect(reasonOf(example)).toBeNull();
  });

  it("explains every clause that failed, with pointers into the rule", () => {
    const { matched, trace } = evaluateConditions(
      example,
      context({ order: { subtotal: usd(4000), productTags: ["tea"], channel: "pos" } }),
    );
    expect(matched).toBe(false);
    expect(trace.reason).toBe(
      'order.subtotal is 40.00 USD, not at least 50.00 USD; order.product_tags is ["tea"], with none of "coffee"; excluded because order.channel is "pos"',
    );
    const children = (trace as Extract<ConditionTrace, { all: ConditionTrace[] }>).all;
    expect(children.map((child) => [child.pointer, child.matched])).toEqual([
      ["/conditions/all/0", false],
      ["/conditions/all/1", false],
      ["/conditions/all/2", false],
    ]);
    expect(children[0]).toMatchObject({ field: "order.subtotal", actual: { amount: 4000, currency: "USD" } });
    expect(children[2]).toMatchObject({ not: { pointer: "/conditions/all/2/not", matched: true, actual: "pos" } });
  });

  it("names only the clause that failed", () => {
    expect(reasonOf(example, context({ order: { channel: "pos" } }))).toBe('excluded because order.channel is "pos"');
  });

  it("describes itself in words", () => {
    expect(describeCondition(example)).toBe(
      'order.subtotal is at least 50.00 USD and order.product_tags includes any of "coffee" and not (order.channel is "pos")',
    );
  });
});

describe("operators on every field", () => {
  const cases: [string, Condition, EvaluationContext, boolean][] = [
    ["event.type eq", { field: "event.type", op: "eq", value: "order.paid" }, context(), true],
    ["event.type ne", { field: "event.type", op: "ne", value: "order.paid" }, context(), false],
    ["event.type in", { field: "event.type", op: "in", value: ["review.created", "order.paid"] }, context(), true],
    ["event.type not_in", { field: "event.type", op: "not_in", value: ["review.created"] }, context(), true],
    [
      "event.network eq",
      { field: "event.network", op: "eq", value: "instagram" },
      context({ event: { network: "instagram" } }),
      true,
    ],
    [
      "event.network ne",
      { field: "event.network", op: "ne", value: "instagram" },
      context({ event: { network: "tiktok" } }),
      true,
    ],
    ["order.subtotal eq", { field: "order.subtotal", op: "eq", value: usd(6000) }, context(), true],
    ["order.subtotal ne", { field: "order.subtotal", op: "ne", value: usd(6000) }, context(), false],
    ["order.subtotal gt (equal)", { field: "order.subtotal", op: "gt", value: usd(6000) }, context(), false],
    ["order.subtotal gt", { field: "order.subtotal", op: "gt", value: usd(5999) }, context(), true],
    ["order.subtotal gte (equal)", { field: "order.subtotal", op: "gte", value: usd(6000) }, context(), true],
    ["order.subtotal gte", { field: "order.subtotal", op: "gte", value: usd(6001) }, context(), false],
    ["order.subtotal lt (equal)", { field: "order.subtotal", op: "lt", value: usd(6000) }, context(), false],
    ["order.subtotal lt", { field: "order.subtotal", op: "lt", value: usd(6001) }, context(), true],
    ["order.subtotal lte (equal)", { field: "order.subtotal", op: "lte", value: usd(6000) }, context(), true],
    ["order.subtotal lte", { field: "order.subtotal", op: "lte", value: usd(5999) }, context(), false],
    [
      "order.subtotal between (inclusive low)",
      { field: "order.subtotal", op: "between", value: { from: usd(6000), to: usd(7000) } },
      context(),
      true,
    ],
    [
      "order.subtotal between (inclusive high)",
      { field: "order.subtotal", op: "between", value: { from: usd(5000), to: usd(6000) } },
      context(),
      true,
    ],
    [
      "order.subtotal between (outside)",
      { field: "order.subtotal", op: "between", value: { from: usd(6001), to: usd(7000) } },
      context(),
      false,
    ],
    ["order.total gte", { field: "order.total", op: "gte", value: usd(6500) }, context(), true],
    ["order.total lt", { field: "order.total", op: "lt", value: usd(6500) }, context(), false],
    [
      "order.currency eq",
      { field: "order.currency", op: "eq", value: "EUR" },
      context({ order: { currency: "EUR" } }),
      true,
    ],
    ["order.currency not_in", { field: "order.currency", op: "not_in", value: ["USD", "CAD"] }, context(), false],
    [
      "order.product_ids contains_any",
      { field: "order.product_ids", op: "contains_any", value: ["prod_9", "prod_2"] },
      context(),
      true,
    ],
    [
      "order.product_ids contains_all",
      { field: "order.product_ids", op: "contains_all", value: ["prod_1", "prod_9"] },
      context(),
      false,
    ],
    [
      "order.product_ids match case",
      { field: "order.product_ids", op: "contains_any", value: ["PROD_1"] },
      context(),
      false,
    ],
    [
      "order.product_tags any case",
      { field: "order.product_tags", op: "contains_any", value: ["COFFEE"] },
      context(),
      true,
    ],
    [
      "order.product_tags contains_all",
      { field: "order.product_tags", op: "contains_all", value: ["coffee", "Beans"] },
      context(),
      true,
    ],
    [
      "order.collections contains_all",
      { field: "order.collections", op: "contains_all", value: ["summer"] },
      context(),
      true,
    ],
    [
      "order.collections match case",
      { field: "order.collections", op: "contains_any", value: ["Summer"] },
      context(),
      false,
    ],
    ["order.channel in", { field: "order.channel", op: "in", value: ["web", "app"] }, context(), true],
    ["order.channel not_in", { field: "order.channel", op: "not_in", value: ["web", "app"] }, context(), false],
    ["order.country eq", { field: "order.country", op: "eq", value: "US" }, context(), true],
    ["order.country in", { field: "order.country", op: "in", value: ["JP", "KR"] }, context(), false],
    [
      "order.is_first_order eq",
      { field: "order.is_first_order", op: "eq", value: true },
      context({ order: { isFirstOrder: true } }),
      true,
    ],
    ["order.is_first_order ne", { field: "order.is_first_order", op: "ne", value: true }, context(), true],
    ["member.tier eq", { field: "member.tier", op: "eq", value: "gold" }, context(), true],
    ["member.tier eq null", { field: "member.tier", op: "eq", value: null }, context({ member: { tier: null } }), true],
    ["member.tier ne null", { field: "member.tier", op: "ne", value: null }, context(), true],
    ["member.tier in", { field: "member.tier", op: "in", value: ["silver", "gold"] }, context(), true],
    [
      "member.tier not_in (no tier)",
      { field: "member.tier", op: "not_in", value: ["gold"] },
      context({ member: { tier: null } }),
      true,
    ],
    ["member.tags any case", { field: "member.tags", op: "contains_any", value: ["vip"] }, context(), true],
    [
      "member.tags contains_all",
      { field: "member.tags", op: "contains_all", value: ["vip", "wholesale"] },
      context(),
      false,
    ],
    [
      "member.is_birthday eq",
      { field: "member.is_birthday", op: "eq", value: true },
      context({ member: { isBirthday: true } }),
      true,
    ],
    ["member.is_birthday ne", { field: "member.is_birthday", op: "ne", value: false }, context(), false],
    // 2026-06-10T15:00Z is Wednesday 11:00 in New York.
    ["event.weekday weekday_in", { field: "event.weekday", op: "weekday_in", value: ["mon", "wed"] }, context(), true],
    [
      "event.weekday weekday_in (other days)",
      { field: "event.weekday", op: "weekday_in", value: ["sat", "sun"] },
      context(),
      false,
    ],
    ["event.occurred_at gte date", { field: "event.occurred_at", op: "gte", value: "2026-06-10" }, context(), true],
    ["event.occurred_at gt date", { field: "event.occurred_at", op: "gt", value: "2026-06-10" }, context(), false],
    ["event.occurred_at lte date", { field: "event.occurred_at", op: "lte", value: "2026-06-10" }, context(), true],
    ["event.occurred_at lt date", { field: "event.occurred_at", op: "lt", value: "2026-06-10" }, context(), false],
    [
      "event.occurred_at gt instant",
      { field: "event.occurred_at", op: "gt", value: "2026-06-10T14:59:59.999Z" },
      context(),
      true,
    ],
    [
      "event.occurred_at gt same instant",
      { field: "event.occurred_at", op: "gt", value: "2026-06-10T11:00:00-04:00" },
      context(),
      false,
    ],
    [
      "event.occurred_at gte same instant",
      { field: "event.occurred_at", op: "gte", value: "2026-06-10T11:00:00-04:00" },
      context(),
      true,
    ],
    [
      "event.occurred_at lte same instant",
      { field: "event.occurred_at", op: "lte", value: "2026-06-10T15:00Z" },
      context(),
      true,
    ],
    [
      "event.occurred_at lt same instant",
      { field: "event.occurred_at", op: "lt", value: "2026-06-10T15:00Z" },
      context(),
      false,
    ],
    [
      "event.occurred_at between dates",
      { field: "event.occurred_at", op: "between", value: { from: "2026-06-01", to: "2026-06-10" } },
      context(),
      true,
    ],
    [
      "event.occurred_at between instants",
      {
        field: "event.occurred_at",
        op: "between",
        value: { from: "2026-06-10T15:00:00.001Z", to: "2026-06-11T00:00Z" },
      },
      context(),
      false,
    ],
  ];

  it.each(cases)("%s", (_name, condition, ctx, expected) => {
    expect(validateConditions(condition)).toEqual([]);
    expect(matches(condition, ctx)).toBe(expected);
  });

  it("covers every field and every operator", () => {
    const fields = new Set(cases.map(([, condition]) => (condition as { field: string }).field));
    const operators = new Set(cases.map(([, condition]) => (condition as { op: string }).op));
    expect([...fields].sort()).toEqual(Object.keys(conditionFields).sort());
    expect([...operators].sort()).toEqual([...conditionOperators].sort());
  });
});

describe("reasons", () => {
  it.each<[string, Condition, EvaluationContext, string]>([
    ["eq", { field: "order.channel", op: "eq", value: "pos" }, context(), 'order.channel is "web", not "pos"'],
    [
      "ne",
      { field: "order.channel", op: "ne", value: "web" },
      context(),
      'order.channel is "web", which the condition excludes',
    ],
    [
      "in",
      { field: "member.tier", op: "in", value: ["silver", "platinum"] },
      context(),
      'member.tier is "gold", not one of "silver", "platinum"',
    ],
    [
      "not_in",
      { field: "order.country", op: "not_in", value: ["US", "CA"] },
      context(),
      'order.country is "US", which the condition excludes',
    ],
    [
      "no tier",
      { field: "member.tier", op: "eq", value: "gold" },
      context({ member: { tier: null } }),
      'member.tier is none, not "gold"',
    ],
    [
      "boolean",
      { field: "order.is_first_order", op: "eq", value: true },
      context(),
      "order.is_first_order is false, not true",
    ],
    [
      "between money",
      { field: "order.total", op: "between", value: { from: usd(100), to: usd(999) } },
      context(),
      "order.total is 65.00 USD, not between 1.00 USD and 9.99 USD",
    ],
    [
      "contains_all names what is missing",
      { field: "member.tags", op: "contains_all", value: ["vip", "wholesale", "staff"] },
      context(),
      'member.tags is ["VIP","newsletter"], without "wholesale", "staff"',
    ],
    [
      "an empty list",
      { field: "order.collections", op: "contains_any", value: ["winter"] },
      context({ order: { collections: [] } }),
      'order.collections is empty, with none of "winter"',
    ],
    [
      "weekday",
      { field: "event.weekday", op: "weekday_in", value: ["sat", "sun"] },
      context(),
      "event.weekday is Wednesday, not Saturday or Sunday",
    ],
    [
      "date window, in shop time",
      { field: "event.occurred_at", op: "between", value: { from: "2026-12-01", to: "2026-12-24" } },
      context(),
      "event.occurred_at is 2026-06-10 11:00 America/New_York, not between 2026-12-01 and 2026-12-24",
    ],
    [
      "another currency",
      { field: "order.subtotal", op: "gte", value: usd(100) },
      context({ order: { subtotal: { amount: 5000, currency: "EUR" } } }),
      "order.subtotal is 50.00 EUR, in another currency than the condition's USD",
    ],
    [
      "no order",
      { field: "order.subtotal", op: "gte", value: usd(100) },
      context({ event: { type: "review.created" }, order: null }),
      "the event has no order (condition: order.subtotal is at least 1.00 USD)",
    ],
    [
      "a field that is not set",
      { field: "order.channel", op: "ne", value: "pos" },
      context({ order: { channel: null } }),
      'order.channel is not set (condition: order.channel is not "pos")',
    ],
    [
      "no network",
      { field: "event.network", op: "in", value: ["instagram"] },
      context(),
      'event.network is not set (condition: event.network is one of "instagram")',
    ],
    [
      "any",
      {
        any: [
          { field: "member.tier", op: "eq", value: "platinum" },
          { field: "member.is_birthday", op: "eq", value: true },
        ],
      },
      context(),
      'none of the alternatives holds (member.tier is "gold", not "platinum"; member.is_birthday is false, not true)',
    ],
    [
      "not of a group",
      {
        not: {
          all: [
            { field: "member.tier", op: "eq", value: "gold" },
            { field: "order.country", op: "eq", value: "US" },
          ],
        },
      },
      context(),
      'excluded because member.tier is "gold" and order.country is "US"',
    ],
  ])("%s", (_name, condition, ctx, reason) => {
    expect(validateConditions(condition)).toEqual([]);
    expect(reasonOf(condition, ctx)).toBe(reason);
  });

  it("formats amounts in the currency's own decimals", () => {
    const jpy = { field: "order.subtotal", op: "gte", value: { amount: 5000, currency: "JPY" } } satisfies Condition;
    const kwd = { field: "order.subtotal", op: "gte", value: { amount: 5000, currency: "KWD" } } satisfies Condition;
    expect(reasonOf(jpy, context({ order: { subtotal: { amount: 1980, currency: "JPY" } } }))).toBe(
      "order.subtotal is 1980 JPY, not at least 5000 JPY",
    );
    expect(reasonOf(kwd, context({ order: { subtotal: { amount: 12, currency: "KWD" } } }))).toBe(
      "order.subtotal is 0.012 KWD, not at least 5.000 KWD",
    );
  });
});

describe("nesting", () => {
  const gold = { field: "member.tier", op: "eq", value: "gold" } satisfies Condition;
  const pos = { field: "order.channel", op: "eq", value: "pos" } satisfies Condition;

  it("an empty all always holds, and no conditions at all match", () => {
    expect(matches({ all: [] })).toBe(true);
    expect(evaluateConditions(null, context())).toMatchObject({ matched: true, trace: { all: [], reason: null } });
    expect(describeCondition({ all: [] })).toBe("always");
  });

  it("combines all, any and not", () => {
    const condition: Condition = { any: [{ all: [gold, { not: pos }] }, { not: { not: pos } }] };
    expect(matches(condition)).toBe(true);
    expect(matches(condition, context({ member: { tier: "silver" } }))).toBe(false);
    expect(matches(condition, context({ member: { tier: "silver" }, order: { channel: "pos" } }))).toBe(true);
    expect(describeCondition(condition)).toBe(
      '(member.tier is "gold" and not (order.channel is "pos")) or not (not (order.channel is "pos"))',
    );
  });

  it("an order condition is false without an order, and true under not", () => {
    const review = context({ event: { type: "review.created" }, order: null });
    expect(matches(pos, review)).toBe(false);
    expect(matches({ field: "order.channel", op: "ne", value: "pos" }, review)).toBe(false);
    expect(matches({ not: pos }, review)).toBe(true);
  });

  it("evaluates every branch, so the trace is complete", () => {
    const { trace } = evaluateConditions({ any: [gold, pos] }, context(), { pointer: "/multipliers/0/when" });
    expect(trace).toMatchObject({
      pointer: "/multipliers/0/when",
      matched: true,
      any: [
        { pointer: "/multipliers/0/when/any/0", matched: true },
        { pointer: "/multipliers/0/when/any/1", matched: false, reason: 'order.channel is "web", not "pos"' },
      ],
    });
  });

  it("refuses a context whose event time is not an instant", () => {
    expect(() => evaluateConditions(gold, context({ event: { occurredAt: "yesterday" } }))).toThrow(RangeError);
  });
});

describe("time zones", () => {
  const at = (occurredAt: string, timezone: string) => context({ event: { occurredAt }, timezone });
  const window = (from: string, to: string): Condition => ({
    field: "event.occurred_at",
    op: "between",
    value: { from, to },
  });
  const weekend: Condition = { field: "event.weekday", op: "weekday_in", value: ["sat", "sun"] };

  it("Asia/Tokyo: the last second of 24 December is in the window, midnight is not", () => {
    const advent = window("2026-12-01", "2026-12-24");
    expect(matches(advent, at("2026-12-24T14:59:59.999Z", "Asia/Tokyo"))).toBe(true);
    expect(matches(advent, at("2026-12-24T15:00:00.000Z", "Asia/Tokyo"))).toBe(false);
    expect(matches(advent, at("2026-11-30T14:59:59.999Z", "Asia/Tokyo"))).toBe(false);
    expect(matches(advent, at("2026-11-30T15:00:00.000Z", "Asia/Tokyo"))).toBe(true);
    // The same instant is still 24 December in New York.
    expect(matches(advent, at("2026-12-24T15:00:00.000Z", "America/New_York"))).toBe(true);
  });

  it("Asia/Tokyo: the weekend starts at local midnight, Friday 15:00 UTC", () => {
    expect(matches(weekend, at("2026-12-25T14:59:59.999Z", "Asia/Tokyo"))).toBe(false);
    expect(matches(weekend, at("2026-12-25T15:00:00.000Z", "Asia/Tokyo"))).toBe(true);
    expect(matches(weekend, at("2026-12-27T14:59:59.999Z", "Asia/Tokyo"))).toBe(true);
    expect(matches(weekend, at("2026-12-27T15:00:00.000Z", "Asia/Tokyo"))).toBe(false);
  });

  it("America/New_York: Saturday 7 March ends at 05:00 UTC before the spring change", () => {
    const saturday: Condition = { field: "event.weekday", op: "weekday_in", value: ["sat"] };
    expect(matches(saturday, at("2026-03-08T04:59:59.999Z", "America/New_York"))).toBe(true);
    expect(matches(saturday, at("2026-03-08T05:00:00.000Z", "America/New_York"))).toBe(false);
    expect(reasonOf(saturday, at("2026-03-08T05:00:00.000Z", "America/New_York"))).toBe(
      "event.weekday is Sunday, not Saturday",
    );
  });

  it("America/New_York: 8 March (23 hours) ends at 04:00 UTC, 1 November (25 hours) at 05:00 UTC", () => {
    const springDay = window("2026-03-08", "2026-03-08");
    expect(matches(springDay, at("2026-03-08T04:59:59.999Z", "America/New_York"))).toBe(false);
    expect(matches(springDay, at("2026-03-08T05:00:00.000Z", "America/New_York"))).toBe(true);
    expect(matches(springDay, at("2026-03-09T03:59:59.999Z", "America/New_York"))).toBe(true);
    expect(matches(springDay, at("2026-03-09T04:00:00.000Z", "America/New_York"))).toBe(false);

    const autumnDay = window("2026-11-01", "2026-11-01");
    expect(matches(autumnDay, at("2026-11-01T03:59:59.999Z", "America/New_York"))).toBe(false);
    expect(matches(autumnDay, at("2026-11-01T04:00:00.000Z", "America/New_York"))).toBe(true);
    expect(matches(autumnDay, at("2026-11-02T04:59:59.999Z", "America/New_York"))).toBe(true);
    expect(matches(autumnDay, at("2026-11-02T05:00:00.000Z", "America/New_York"))).toBe(false);
  });

  it("a date bound is the whole local day, an instant bound is exact", () => {
    const fromDate: Condition = { field: "event.occurred_at", op: "gte", value: "2026-07-01" };
    const fromInstant: Condition = { field: "event.occurred_at", op: "gte", value: "2026-07-01T00:00:00+09:00" };
    const justBeforeTokyoMidnight = at("2026-06-30T14:59:59.999Z", "America/New_York");
    expect(matches(fromDate, justBeforeTokyoMidnight)).toBe(false);
    expect(matches(fromInstant, justBeforeTokyoMidnight)).toBe(false);
    const tokyoMidnight = at("2026-06-30T15:00:00.000Z", "America/New_York");
    expect(matches(fromDate, tokyoMidnight)).toBe(false);
    expect(matches(fromInstant, tokyoMidnight)).toBe(true);
    expect(matches(fromDate, at("2026-07-01T04:00:00.000Z", "America/New_York"))).toBe(true);
  });
});

describe("validateConditions", () => {
  const errorsOf = (json: unknown, options?: Parameters<typeof validateConditions>[1]) =>
    validateConditions(json, options);
  const pointers = (json: unknown) => errorsOf(json).map((error) => error.pointer);

  it("points at unknown fields, unknown operators and operators a field does not take", () => {
    expect(
      errorsOf({
        all: [
          { field: "order.subtotl", op: "gte", value: usd(1) },
          { field: "order.subtotal", op: "ge", value: usd(1) },
          { field: "event.weekday", op: "eq", value: "sat" },
          { field: "member.tags", op: "in", value: ["vip"] },
        ],
      }),
    ).toEqual([
      { pointer: "/conditions/all/0/field", message: expect.stringContaining("must be one of event.type,") },
      { pointer: "/conditions/all/1/op", message: expect.stringContaining("must be one of eq, ne,") },
      { pointer: "/conditions/all/2/op", message: "event.weekday takes weekday_in, not eq" },
      { pointer: "/conditions/all/3/op", message: "member.tags takes contains_any, contains_all, not in" },
    ]);
  });

  it("refuses shapes that are not conditions", () => {
    expect(pointers(null)).toEqual(["/conditions"]);
    expect(pointers([])).toEqual(["/conditions"]);
    expect(pointers({})).toEqual(["/conditions"]);
    expect(pointers({ all: [], any: [] })).toEqual(["/conditions"]);
    expect(pointers({ all: {} })).toEqual(["/conditions/all"]);
    expect(pointers({ any: [] })).toEqual(["/conditions/any"]);
    expect(pointers({ not: [] })).toEqual(["/conditions/not"]);
    expect(pointers({ all: [], also: 1 })).toEqual(["/conditions/also"]);
    expect(pointers({ not: { field: "member.tier", op: "eq", value: "a", hint: "x" } })).toEqual([
      "/conditions/not/hint",
    ]);
    expect(pointers({ field: "member.tier", op: "eq" })).toEqual(["/conditions/value"]);
    expect(pointers({ all: [{ field: "a/b~c", op: "eq", value: 1, "a/b~c": 1 }] })).toEqual([
      "/conditions/all/0/a~1b~0c",
      "/conditions/all/0/field",
    ]);
  });

  it.each<[string, unknown, string]>([
    ["text not a string", { field: "order.channel", op: "eq", value: 3 }, "/conditions/value"],
    ["empty text", { field: "event.type", op: "eq", value: "" }, "/conditions/value"],
    ["text too long", { field: "event.type", op: "eq", value: "x".repeat(201) }, "/conditions/value"],
    ["empty list", { field: "order.channel", op: "in", value: [] }, "/conditions/value"],
    ["list not a list", { field: "order.channel", op: "in", value: "web" }, "/conditions/value"],
    [
      "list too long",
      { field: "order.channel", op: "in", value: Array.from({ length: 101 }, (_, i) => `c${i}`) },
      "/conditions/value",
    ],
    ["bad list item", { field: "order.product_ids", op: "contains_any", value: ["a", 7] }, "/conditions/value/1"],
    ["null in a tier list", { field: "member.tier", op: "in", value: ["gold", null] }, "/conditions/value/1"],
    ["tier a number", { field: "member.tier", op: "eq", value: 2 }, "/conditions/value"],
    ["currency unknown", { field: "order.currency", op: "eq", value: "XYZ" }, "/conditions/value"],
    ["currency lower case", { field: "order.currency", op: "in", value: ["usd"] }, "/conditions/value/0"],
    ["country UK", { field: "order.country", op: "eq", value: "UK" }, "/conditions/value"],
    ["boolean as text", { field: "order.is_first_order", op: "eq", value: "true" }, "/conditions/value"],
    ["weekday spelled out", { field: "event.weekday", op: "weekday_in", value: ["saturday"] }, "/conditions/value/0"],
    ["money as a number", { field: "order.subtotal", op: "gte", value: 50 }, "/conditions/value"],
    [
      "money with decimals",
      { field: "order.subtotal", op: "gte", value: { amount: 49.99, currency: "USD" } },
      "/conditions/value/amount",
    ],
    [
      "negative money",
      { field: "order.subtotal", op: "gte", value: { amount: -1, currency: "USD" } },
      "/conditions/value/amount",
    ],
    ["money without currency", { field: "order.total", op: "lt", value: { amount: 1 } }, "/conditions/value/currency"],
    [
      "money extra property",
      { field: "order.total", op: "lt", value: { amount: 1, currency: "USD", tax: 1 } },
      "/conditions/value/tax",
    ],
    ["between not a range", { field: "order.total", op: "between", value: [usd(1), usd(2)] }, "/conditions/value"],
    [
      "between bad bound",
      { field: "order.total", op: "between", value: { from: usd(1), to: 2 } },
      "/conditions/value/to",
    ],
    [
      "between reversed",
      { field: "order.total", op: "between", value: { from: usd(2), to: usd(1) } },
      "/conditions/value",
    ],
    [
      "between two currencies",
      { field: "order.total", op: "between", value: { from: usd(1), to: { amount: 2, currency: "EUR" } } },
      "/conditions/value",
    ],
    [
      "between extra",
      { field: "order.total", op: "between", value: { from: usd(1), to: usd(2), step: 1 } },
      "/conditions/value/step",
    ],
    ["date that does not exist", { field: "event.occurred_at", op: "gte", value: "2026-02-30" }, "/conditions/value"],
    [
      "instant without offset",
      { field: "event.occurred_at", op: "gte", value: "2026-02-01T10:00" },
      "/conditions/value",
    ],
    ["instant at hour 24", { field: "event.occurred_at", op: "gte", value: "2026-02-01T24:00Z" }, "/conditions/value"],
    ["date as a number", { field: "event.occurred_at", op: "lt", value: 20260201 }, "/conditions/value"],
    [
      "dates reversed",
      { field: "event.occurred_at", op: "between", value: { from: "2026-12-24", to: "2026-12-01" } },
      "/conditions/value",
    ],
    [
      "instants reversed",
      { field: "event.occurred_at", op: "between", value: { from: "2026-12-24T00:00Z", to: "2026-12-23T23:59Z" } },
      "/conditions/value",
    ],
    [
      "date and instant mixed",
      { field: "event.occurred_at", op: "between", value: { from: "2026-12-01", to: "2026-12-24T23:59Z" } },
      "/conditions/value",
    ],
    [
      "bad between bound date",
      { field: "event.occurred_at", op: "between", value: { from: "2026-13-01", to: "2026-12-24" } },
      "/conditions/value/from",
    ],
  ])("%s", (_name, json, pointer) => {
    expect(pointers(json)).toEqual([pointer]);
  });

  it("accepts dates and instants with offsets", () => {
    for (const value of [
      "2026-02-28",
      "2028-02-29",
      "2026-02-01T10:00Z",
      "2026-02-01T10:00:30.5+09:00",
      "2026-02-01T10:00:30-05:00",
    ]) {
      expect(errorsOf({ field: "event.occurred_at", op: "gte", value })).toEqual([]);
    }
    expect(errorsOf({ field: "event.occurred_at", op: "gte", value: "2027-02-29" })).toHaveLength(1);
  });

  it("with the shop currency, refuses amounts in another", () => {
    const eur = { field: "order.subtotal", op: "gte", value: { amount: 5000, currency: "EUR" } };
    expect(errorsOf(eur)).toEqual([]);
    expect(errorsOf(eur, { currency: "USD" })).toEqual([
      { pointer: "/conditions/value/currency", message: "must be the shop currency USD" },
    ]);
    expect(errorsOf({ any: [eur] }, { currency: "USD", pointer: "/multipliers/0/when" })).toEqual([
      { pointer: "/multipliers/0/when/any/0/value/currency", message: "must be the shop currency USD" },
    ]);
  });

  const leaf = { field: "member.is_birthday", op: "eq", value: true };
  const nest = (levels: number): unknown => (levels === 1 ? leaf : { not: nest(levels - 1) });

  it(`allows ${maxConditionDepth} levels of nesting, not ${maxConditionDepth + 1}`, () => {
    expect(errorsOf(nest(maxConditionDepth))).toEqual([]);
    expect(errorsOf(nest(maxConditionDepth + 1))).toEqual([
      {
        pointer: `/conditions${"/not".repeat(maxConditionDepth)}`,
        message: expect.stringContaining("nested too deeply"),
      },
    ]);
    expect(errorsOf(nest(10_000))).toHaveLength(1);
  });

  it(`allows ${maxConditionNodes} nodes, not ${maxConditionNodes + 1}`, () => {
    const wide = (count: number) => ({ all: Array.from({ length: count - 1 }, () => leaf) });
    expect(errorsOf(wide(maxConditionNodes))).toEqual([]);
    expect(errorsOf(wide(maxConditionNodes + 1))).toEqual([
      { pointer: "/conditions", message: `has more than ${maxConditionNodes} conditions` },
    ]);
    expect(errorsOf({ any: [{ all: wide(60).all }, { all: wide(60).all }] })).toEqual([
      { pointer: "/conditions", message: `has more than ${maxConditionNodes} conditions` },
    ]);
    expect(errorsOf(wide(1_000_000))).toHaveLength(1);
    // Past the limit nothing more is looked at, whatever it holds.
    const pastTheLimit = { all: [...wide(maxConditionNodes - 1).all, { not: { field: "nope", op: "eq", value: 1 } }] };
    expect(errorsOf(pastTheLimit)).toEqual([
      { pointer: "/conditions", message: `has more than ${maxConditionNodes} conditions` },
    ]);
  });
});
