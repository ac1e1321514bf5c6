import { describe, expect, it } from "vitest";
import { normalizeProgram, type TierProgramDraft } from "./program.js";
import { formatCurrency, missingFor, nextPeriodEnd, qualificationWindow, qualifiedTierIndex } from "./qualify.js";

const usd = (amount: number) => ({ amount, currency: "USD" });

function program(draft: Partial<TierProgramDraft> = {}) {
  const { program, errors } = normalizeProgram(
    {
      tiers: [
        { key: "member", name: { en: "Member" } },
        { key: "silver", name: { en: "Silver" }, thresholds: { spend: usd(50000), orders: 5 } },
        { key: "gold", name: { en: "Gold" }, thresholds: { spend: usd(150000), orders: 12, points: 20000 } },
      ],
      ...draft,
    },
    "USD",
  );
  expect(errors).toEqual([]);
  return program;
}

const at = new Date("2026-06-15T12:00:00.000Z");
const joined = "2026-01-01T00:00:00.000Z";

describe("tier qualification", () => {
  it("with any, one threshold of a tier is enough", () => {
    const any = program();
    expect(qualifiedTierIndex(any, { spend: 0, orders: 0, points: 0 }, joined, at)).toBe(0);
    expect(qualifiedTierIndex(any, { spend: 50000, orders: 0, points: 0 }, joined, at)).toBe(1);
    expect(qualifiedTierIndex(any, { spend: 0, orders: 5, points: 0 }, joined, at)).toBe(1);
    expect(qualifiedTierIndex(any, { spend: 0, orders: 0, points: 20000 }, joined, at)).toBe(2);
    expect(qualifiedTierIndex(any, { spend: 49999, orders: 4, points: 19999 }, joined, at)).toBe(0);
  });

  it("with all, every threshold the tier sets", () => {
    const all = program({ combine: "all" });
    expect(qualifiedTierIndex(all, { spend: 50000, orders: 4, points: 0 }, joined, at)).toBe(0);
    expect(qualifiedTierIndex(all, { spend: 50000, orders: 5, points: 0 }, joined, at)).toBe(1);
    expect(qualifiedTierIndex(all, { spend: 150000, orders: 12, points: 19999 }, joined, at)).toBe(1);
    expect(qualifiedTierIndex(all, { spend: 150000, orders: 12, points: 20000 }, joined, at)).toBe(2);
  });

  it("keeps members on the base tier until they have been in the program long enough", () => {
    const waiting = program({ min_membership_days: 30 });
    const rich = { spend: 1_000_000, orders: 100, points: 100_000 };
    expect(qualifiedTierIndex(waiting, rich, "2026-06-01T12:00:00.000Z", at)).toBe(0);
    expect(qualifiedTierIndex(waiting, rich, "2026-05-16T12:00:00.000Z", at)).toBe(2);
  });

  it("says what is missing, joined by or for any and by and for all", () => {
    const tiers = program().tiers;
    const activity = { spend: 45400, orders: 4, points: 100 };
    expect(missingFor(program(), tiers[1] as never, activity, "USD").summary).toBe("$46.00 more or 1 more order");
    expect(missingFor(program({ combine: "all" }), tiers[1] as never, activity, "USD").summary).toBe(
      "$46.00 more and 1 more order",
    );
    // With all, a threshold already met is not listed.
    expect(missingFor(program({ combine: "all" }), tiers[1] as never, { ...activity, orders: 5 }, "USD").summary).toBe(
      "$46.00 more",
    );
    expect(missingFor(program(), tiers[1] as never, { ...activity, orders: 5 }, "USD").summary).toBe("Qualifies now");
    expect(missingFor(program(), tiers[2] as never, activity, "USD").metrics).toEqual([
      { metric: "spend", needed: 150000, current: 45400, missing: 104600 },
      { metric: "points", needed: 20000, current: 100, missing: 19900 },
      { metric: "orders", needed: 12, current: 4, missing: 8 },
    ]);
  });

  it("formats money exactly from minor units", () => {
    expect(formatCurrency(usd(4600))).toBe("$46.00");
    expect(formatCurrency({ amount: 1980, currency: "JPY" })).toBe("¥1,980");
    expect(formatCurrency({ amount: 12345, currency: "KWD" })).toBe("KWD\u00a012.345");
    expect(formatCurrency(usd(900719925474099))).toBe("$9,007,199,254,740.99");
  });

  it("windows: lifetime, rolling months, and the calendar year in the shop time zone", () => {
    expect(qualificationWindow(program({ window: { type: "lifetime" } }), at, "UTC")).toEqual({
      from: null,
      to: at.toISOString(),
    });
    expect(qualificationWindow(program({ window: { type: "rolling_months", months: 3 } }), at, "UTC").from).toBe(
      "2026-03-15T12:00:00.000Z",
    );
    const calendar = program({ window: { type: "calendar_year" } });
    expect(qualificationWindow(calendar, at, "America/New_York").from).toBe("2026-01-01T05:00:00.000Z");
    // At midnight on 1 January the window is the year that just ended.
    expect(qualificationWindow(calendar, new Date("2027-01-01T05:00:00.000Z"), "America/New_York").from).toBe(
      "2026-01-01T05:00:00.000Z",
    );
    expect(nextPeriodEnd(calendar, at, "America/New_York")).toBe("2027-01-01T05:00:00.000Z");
    expect(nextPeriodEnd(program(), new Date("2024-02-29T10:00:00.000Z"), "UTC")).toBe("2025-02-28T10:00:00.000Z");
  });

  it("fills in defaults: a multiplier's denominator is 1, names are kept under canonical locale tags", () => {
    const { program, errors } = normalizeProgram(
      {
        tiers: [
          { key: "member", name: { "FR-ca": "Membre", en: "Member" } },
          {
            key: "vip",
            name: { en: "VIP" },
            thresholds: { orders: 3 },
            benefits: { points_multiplier: { numerator: 2 } },
          },
        ],
      },
      "USD",
    );
    expect(errors).toEqual([]);
    expect(program.tiers[0]?.name).toEqual({ "fr-CA": "Membre", en: "Member" });
    expect(program.tiers[1]?.benefits.points_multiplier).toEqual({ numerator: 2, denominator: 1 });
    expect(program).toMatchObject({ combine: "any", grace_days: 30, max_downgrade_steps: 1, min_membership_days: 0 });
  });

  it("refuses programs whose tiers make no sense, naming each problem", () => {
    const { errors } = normalizeProgram(
      {
        max_downgrade_steps: 3,
        tiers: [
          { key: "member", name: {}, thresholds: { orders: 1 } },
          { key: "gold", name: { en: "Gold" }, thresholds: { spend: { amount: 100, currency: "EUR" } } },
          { key: "gold", name: { en: "Gold again" }, thresholds: { orders: 5 } },
          { key: "silver", name: { en: "Silver" }, thresholds: { orders: 2 } },
          { key: "none", name: { en: "Nothing" } },
        ],
      },
      "USD",
    );
    expect(errors.map((error) => error.pointer)).toEqual([
      "/body/tiers/0/name",
      "/body/tiers/0/thresholds",
      "/body/tiers/1/thresholds/spend/currency",
      "/body/tiers/2/key",
      "/body/tiers/3/thresholds/orders",
      "/body/tiers/4/thresholds",
    ]);
  });
});
