import type { LightMyRequestResponse } from "fastify";
import { beforeEach, expect, it } from "vitest";
import {
  bearer,
  createShop,
  describeEachDialect,
  type TestApp,
  type TestShop,
  useTestApp,
} from "../../../test/support/app.js";
import { addMonths } from "../../platform/clock.js";
import { verifyLedger } from "../ledger/index.js";
import { previewProgram } from "./queries.js";
import { checkProgram, reevaluateAllMembers, reevaluateDueMembers } from "./service.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field; expect() checks them.
type Json = Record<string, any>;
const day = 24 * 60 * 60 * 1000;

const usd = (amount: number) => ({ amount, currency: "USD" });
const tenPerDollar = {
  name: "10 points per $1",
  event_type: "order.paid",
  reward: { type: "per_currency_unit", points: 10, per: usd(100) },
};
const member = { key: "member", name: { en: "Member" } };
const silver = { key: "silver", name: { en: "Silver" }, thresholds: { spend: usd(10000) } };
const gold = { key: "gold", name: { en: "Gold" }, thresholds: { spend: usd(50000) } };

function harness(t: () => TestApp) {
  async function ok(response: Promise<LightMyRequestResponse>, status: number): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.body === "" ? {} : (done.json() as Json);
  }
  const send = (shop: TestShop, method: "GET" | "POST" | "PUT", url: string, payload?: unknown) =>
    t().app.inject({
      method,
      url,
      headers: bearer(shop.secretKey),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  let orderCounter = 0;
  return {
    ok,
    async program(shop: TestShop, body: Json) {
      const before = await send(shop, "GET", "/v1/tiers");
      if (before.statusCode !== 404 && before.statusCode !== 200)
        throw new Error(`GET /v1/tiers: ${before.statusCode} ${before.body}`);
      return ok(send(shop, "PUT", "/v1/tiers", body), before.statusCode === 404 ? 201 : 200);
    },
    async newMember(shop: TestShop): Promise<string> {
      return (await ok(send(shop, "POST", "/v1/members"), 201)).id as string;
    },
    async order(shop: TestShop, memberId: string, total: number): Promise<Json> {
      orderCounter += 1;
      return ok(
        send(shop, "POST", "/v1/events", {
          type: "order.paid",
          external_id: `paid-${orderCounter}`,
          member_id: memberId,
          order: { id: `o-${orderCounter}`, currency: "USD", total },
        }),
        201,
      );
    },
    async refund(shop: TestShop, paid: Json, amount: number): Promise<Json> {
      return ok(
        send(shop, "POST", "/v1/events", {
          type: "order.refunded",
          external_id: `refund-${paid.external_id}-${amount}`,
          order: { id: paid.order_id },
          refund: { amount, currency: "USD" },
        }),
        201,
      );
    },
    async tier(shop: TestShop, memberId: string): Promise<Json> {
      return ok(send(shop, "GET", `/v1/members/${memberId}/tier`), 200);
    },
    async history(shop: TestShop, memberId: string): Promise<Json[]> {
      return (await ok(send(shop, "GET", `/v1/members/${memberId}/tier/history?limit=100`), 200)).data;
    },
    async assign(shop: TestShop, memberId: string, tier: string, lockedUntil?: string) {
      return ok(
        send(shop, "PUT", `/v1/members/${memberId}/tier`, {
          tier,
          reason: "Set by the test",
          ...(lockedUntil ? { locked_until: lockedUntil } : {}),
        }),
        200,
      );
    },
    async sweep(shop: TestShop) {
      return reevaluateDueMembers(t().database, shop.shop.id, t().clock.now());
    },
    async outbox(shop: TestShop, type: string): Promise<Json[]> {
      const rows = await t()
        .database.db.selectFrom("outbox")
        .select(["type", "payload"])
        .where("shop_id", "=", shop.shop.id)
        .where("type", "=", type)
        .orderBy("id")
        .execute();
      return rows.map((row) => JSON.parse(row.payload) as Json);
    },
    async expectClean(shop: TestShop) {
      expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
    },
  };
}

describeEachDialect("tier lifecycle", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);
  // The app (and its clock) is shared by the tests of a file; each starts at the same moment.
  beforeEach(() => t().clock.set("2026-03-01T12:00:00.000Z"));

  it("upgrades in the order's own transaction, and a refund lowers the tier only at re-evaluation, after grace", async () => {
    const shop = await createShop(t());
    await h.ok(
      t().app.inject({ method: "POST", url: "/v1/rules", headers: bearer(shop.secretKey), payload: tenPerDollar }),
      201,
    );
    await h.program(shop, { grace_days: 30, tiers: [member, silver, gold] });
    const memberId = await h.newMember(shop);
    const start = t().clock.now().toISOString();

    const paid = await h.order(shop, memberId, 12000);
    expect(paid.explanation.tier.change).toMatchObject({ kind: "upgrade", from: "member", to: "silver" });
    const upgraded = await h.tier(shop, memberId);
    expect(upgraded.tier.key).toBe("silver");
    expect(upgraded.since).toBe(start);
    expect(upgraded.reevaluates_at).toBe(addMonths(start, 12));
    expect((await h.outbox(shop, "tier.upgraded")).map((event) => [event.data.from, event.data.to])).toEqual([
      ["member", "silver"],
    ]);

    // Half refunded: the member no longer reaches Silver, but keeps it until the period ends.
    t().clock.advance(day);
    await h.refund(shop, paid, 6000);
    const refunded = await h.tier(shop, memberId);
    expect(refunded.tier.key).toBe("silver");
    expect(refunded.metrics.spend).toEqual(usd(6000));
    expect(refunded.keep.summary).toBe("$40.00 more");
    expect(await h.sweep(shop)).toEqual({ evaluated: 0, changed: 0 });

    // The period ends: a grace period starts, judged on the period's own window.
    t().clock.set(new Date(Date.parse(addMonths(start, 12)) + day));
    expect(await h.sweep(shop)).toEqual({ evaluated: 1, changed: 0 });
    const graced = await h.tier(shop, memberId);
    expect(graced.tier.key).toBe("silver");
    expect(graced.grace_until).toBe(new Date(Date.parse(addMonths(start, 12)) + 30 * day).toISOString());
    expect(graced.reevaluates_at).toBe(graced.grace_until);
    // Running the sweep again in the same period does nothing more.
    expect(await h.sweep(shop)).toEqual({ evaluated: 0, changed: 0 });

    t().clock.set(new Date(Date.parse(graced.grace_until) + 1));
    expect(await h.sweep(shop)).toEqual({ evaluated: 1, changed: 1 });
    expect((await h.tier(shop, memberId)).tier.key).toBe("member");
    const history = await h.history(shop, memberId);
    expect(history.map((change) => [change.kind, change.from, change.to])).toEqual([
      ["downgrade", "silver", "member"],
      ["grace_started", "silver", "silver"],
      ["upgrade", "member", "silver"],
    ]);
    expect(history[1]?.metrics).toEqual({ spend: 6000, orders: 1, points: 600 });
    expect(history[2]?.event_id).toBe(paid.id);
    expect((await h.outbox(shop, "tier.downgraded")).map((event) => event.data.to)).toEqual(["member"]);
    await h.expectClean(shop);
  });

  it("keeps the tier when the member qualifies again during the grace period", async () => {
    const shop = await createShop(t());
    await h.program(shop, { grace_days: 30, tiers: [member, silver] });
    const memberId = await h.newMember(shop);
    const start = t().clock.now().toISOString();
    await h.order(shop, memberId, 10000);
    t().clock.set(new Date(Date.parse(addMonths(start, 12)) + 1));
    // The order sits at the very start of the window that ends at the period's end: it counts.
    expect(await h.sweep(shop)).toEqual({ evaluated: 1, changed: 0 });
    expect((await h.tier(shop, memberId)).grace_until).toBeNull();
    expect((await h.tier(shop, memberId)).reevaluates_at).toBe(addMonths(start, 24));

    t().clock.set(new Date(Date.parse(addMonths(start, 24)) + day));
    await h.sweep(shop);
    expect((await h.tier(shop, memberId)).grace_until).not.toBeNull();
    // A new order during grace brings the member back over the threshold: grace ends at once.
    const paid = await h.order(shop, memberId, 10000);
    expect(paid.explanation.tier.change).toMatchObject({ kind: "grace_ended", to: "silver" });
    const kept = await h.tier(shop, memberId);
    expect(kept).toMatchObject({ grace_until: null, reevaluates_at: addMonths(start, 36) });
    t().clock.advance(40 * day);
    expect(await h.sweep(shop)).toEqual({ evaluated: 0, changed: 0 });
    expect((await h.tier(shop, memberId)).tier.key).toBe("silver");
  });

  it("drops one tier at a time unless the program allows more, never below what the member qualifies for", async () => {
    const down = async (steps: number, spend: number | null) => {
      const shop = await createShop(t());
      await h.program(shop, { grace_days: 0, max_downgrade_steps: steps, tiers: [member, silver, gold] });
      const memberId = await h.newMember(shop);
      const start = t().clock.now().toISOString();
      await h.assign(shop, memberId, "gold");
      if (spend !== null) await h.order(shop, memberId, spend);
      t().clock.set(new Date(Date.parse(addMonths(start, 12)) + 1));
      await h.sweep(shop);
      const landed = (await h.tier(shop, memberId)).tier.key;
      t().clock.set(start);
      return landed;
    };
    expect(await down(1, null)).toBe("silver");
    expect(await down(2, null)).toBe("member");
    expect(await down(2, 10000)).toBe("silver");
  });

  it("qualifies on the calendar year in the shop time zone and starts again on 1 January", async () => {
    const shop = await createShop(t(), { timezone: "Asia/Tokyo" });
    await h.program(shop, { window: { type: "calendar_year" }, grace_days: 0, tiers: [member, silver] });
    const memberId = await h.newMember(shop);
    await h.order(shop, memberId, 10000);
    const upgraded = await h.tier(shop, memberId);
    expect(upgraded.tier.key).toBe("silver");
    expect(upgraded.window.from).toBe("2025-12-31T15:00:00.000Z");
    // Midnight of 1 January 2027 in Tokyo.
    expect(upgraded.reevaluates_at).toBe("2026-12-31T15:00:00.000Z");

    // Just after the new year in Tokyo (still 31 December in UTC): judged on 2026, which qualifies.
    t().clock.set(new Date("2026-12-31T15:30:00.000Z"));
    expect(await h.sweep(shop)).toEqual({ evaluated: 1, changed: 0 });
    const kept = await h.tier(shop, memberId);
    expect(kept).toMatchObject({ tier: { key: "silver" }, reevaluates_at: "2027-12-31T15:00:00.000Z" });
    // The new year counts from zero.
    expect(kept.window.from).toBe("2026-12-31T15:00:00.000Z");
    expect(kept.metrics.spend.amount).toBe(0);

    // No order in 2027: at the start of 2028 the member goes down.
    t().clock.set(new Date("2027-12-31T15:00:00.000Z"));
    expect(await h.sweep(shop)).toEqual({ evaluated: 1, changed: 1 });
    expect((await h.tier(shop, memberId)).tier.key).toBe("member");
  });

  it("gives a tier's entry reward once, even when the member reaches the tier again", async () => {
    const shop = await createShop(t());
    await h.program(shop, { grace_days: 0, tiers: [member, { ...silver, entry_reward: { points: 250 } }] });
    const memberId = await h.newMember(shop);
    const start = t().clock.now().toISOString();
    const first = await h.order(shop, memberId, 10000);
    expect(first.explanation.tier.change.entry_reward_transaction_id).toMatch(/^txn_/);
    t().clock.set(new Date(Date.parse(addMonths(start, 24)) + 1));
    await h.sweep(shop);
    expect((await h.tier(shop, memberId)).tier.key).toBe("member");
    const again = await h.order(shop, memberId, 10000);
    expect(again.explanation.tier.change).toMatchObject({
      kind: "upgrade",
      to: "silver",
      entry_reward_transaction_id: null,
    });
    const rewards = await t()
      .database.db.selectFrom("ledger_transactions")
      .select(["amount"])
      .where("shop_id", "=", shop.shop.id)
      .where("reference", "=", "tier:silver")
      .execute();
    expect(rewards.map((row) => Number(row.amount))).toEqual([250]);
    await h.expectClean(shop);
  });

  it("holds a manually assigned tier until its lock ends, then re-evaluates", async () => {
    const shop = await createShop(t());
    await h.program(shop, { grace_days: 0, tiers: [member, silver, gold] });
    const memberId = await h.newMember(shop);
    const start = t().clock.now().toISOString();
    const lockedUntil = addMonths(start, 18);
    const assigned = await h.assign(shop, memberId, "gold", lockedUntil);
    expect(assigned).toMatchObject({ tier: { key: "gold" }, locked_until: lockedUntil });

    t().clock.set(new Date(Date.parse(addMonths(start, 12)) + 1));
    expect(await h.sweep(shop)).toEqual({ evaluated: 0, changed: 0 });
    expect((await h.tier(shop, memberId)).tier.key).toBe("gold");

    t().clock.set(new Date(Date.parse(lockedUntil) + 1));
    expect(await h.sweep(shop)).toEqual({ evaluated: 1, changed: 1 });
    expect((await h.tier(shop, memberId)).tier.key).toBe("silver");
    expect((await h.history(shop, memberId))[1]).toMatchObject({ kind: "assigned", reason: "Set by the test" });
  });

  it("multiplies order points by the member's tier, in real events and in the rules preview alike", async () => {
    const shop = await createShop(t());
    await h.ok(
      t().app.inject({ method: "POST", url: "/v1/rules", headers: bearer(shop.secretKey), payload: tenPerDollar }),
      201,
    );
    await h.program(shop, {
      tiers: [member, { ...silver, benefits: { points_multiplier: { numerator: 3, denominator: 2 } } }],
    });
    const memberId = await h.newMember(shop);
    await h.assign(shop, memberId, "silver");
    const paid = await h.order(shop, memberId, 1999);
    // floor(199 × 3 / 2) = 298
    expect(paid.points).toBe(298);
    expect(paid.explanation.rules[0].multipliers).toEqual([
      { label: "silver tier", numerator: 3, denominator: 2, applied: true, reason: null },
    ]);
    const preview = await h.ok(
      t().app.inject({
        method: "POST",
        url: "/v1/rules/preview",
        headers: bearer(shop.secretKey),
        payload: {
          member_id: memberId,
          event: { type: "order.paid", order: { id: "preview", currency: "USD", total: 1999 } },
        },
      }),
      200,
    );
    expect(preview.explanation.totals.awarded).toBe(298);
    // Other events earn without it.
    await h.ok(
      t().app.inject({
        method: "POST",
        url: "/v1/rules",
        headers: bearer(shop.secretKey),
        payload: { name: "Visit", event_type: "checked_in", reward: { type: "fixed", points: 5 } },
      }),
      201,
    );
    const visit = await h.ok(
      t().app.inject({
        method: "POST",
        url: "/v1/events",
        headers: bearer(shop.secretKey),
        payload: { type: "checked_in", external_id: "visit-1", member_id: memberId },
      }),
      201,
    );
    expect(visit.points).toBe(5);
  });

  it("gives the tier's birthday gift once a year", async () => {
    const shop = await createShop(t());
    await h.program(shop, {
      tiers: [member, { ...silver, benefits: { birthday_gift: { points: 300 } } }],
    });
    const memberId = await h.newMember(shop);
    await h.assign(shop, memberId, "silver");
    const birthday = (id: string) =>
      h.ok(
        t().app.inject({
          method: "POST",
          url: "/v1/events",
          headers: bearer(shop.secretKey),
          payload: { type: "birthday", external_id: id, member_id: memberId },
        }),
        201,
      );
    const first = await birthday("b-2026");
    expect(first.points).toBe(300);
    expect(first.explanation.tier.birthday_gift).toMatchObject({ points: 300, note: null });
    const second = await birthday("b-2026-again");
    expect(second.points).toBe(0);
    expect(second.explanation.tier.birthday_gift.note).toContain("already given");
    t().clock.advance(365 * day);
    expect((await birthday("b-2027")).points).toBe(300);
    await h.expectClean(shop);
  });

  it("previews exactly where a real re-evaluation puts every member", async () => {
    const shop = await createShop(t());
    await h.program(shop, { grace_days: 0, tiers: [member, silver, gold] });
    const start = t().clock.now().toISOString();
    const a = await h.newMember(shop); // base, will qualify for gold under the draft
    const b = await h.newMember(shop); // gold, qualifies only for silver
    const c = await h.newMember(shop); // silver, nothing
    const d = await h.newMember(shop); // gold, keeps it
    const e = await h.newMember(shop); // base, nothing
    const locked = await h.newMember(shop); // gold, locked beyond the period
    await h.assign(shop, b, "gold");
    await h.assign(shop, c, "silver");
    await h.assign(shop, d, "gold");
    await h.assign(shop, locked, "gold", addMonths(start, 18));
    await h.order(shop, b, 9000);
    await h.order(shop, d, 40000);
    t().clock.advance(day);
    // Under the current program A reaches only silver; the draft lowers gold to 300.00.
    await h.order(shop, a, 30000);
    const draft = {
      grace_days: 0,
      tiers: [member, { ...silver, thresholds: { spend: usd(5000) } }, { ...gold, thresholds: { spend: usd(30000) } }],
    };
    t().clock.set(new Date(addMonths(start, 12)));
    const program = checkProgram(draft, shop.shop);
    const preview = await previewProgram(t().database.db, shop.shop, program, t().clock.now());
    await h.program(shop, draft);
    await reevaluateAllMembers(t().database, shop.shop.id, t().clock.now());
    const landed: Record<string, string> = {};
    for (const [name, id] of Object.entries({ a, b, c, d, e, locked }))
      landed[name] = (await h.tier(shop, id)).tier.key;
    expect(landed).toEqual({ a: "gold", b: "silver", c: "member", d: "gold", e: "member", locked: "gold" });
    const projected = Object.fromEntries(preview.tiers.map((tier) => [tier.key, tier.projected]));
    const counted = { member: 0, silver: 0, gold: 0 } as Record<string, number>;
    for (const key of Object.values(landed)) counted[key] = (counted[key] ?? 0) + 1;
    expect(projected).toEqual(counted);
    const moves = Object.fromEntries(preview.moves.map((move) => [move.member_id, [move.from, move.to]]));
    expect(moves).toEqual({ [a]: ["silver", "gold"], [b]: ["gold", "silver"], [c]: ["silver", "member"] });
    expect(preview).toMatchObject({ members: 6, upgrades: 1, downgrades: 2 });
  });

  it("resumes an interrupted --all run where it stopped", async () => {
    const shop = await createShop(t());
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push(await h.newMember(shop));
    // Orders placed before the shop had a program: only an --all run finds that they qualify.
    for (const id of ids) await h.order(shop, id, 10000);
    await h.program(shop, { tiers: [member, silver] });
    expect((await h.tier(shop, ids[0] as string)).tier.key).toBe("member");

    const interrupted = reevaluateAllMembers(
      t().database,
      shop.shop.id,
      t().clock.now(),
      (progress) => {
        if (progress.evaluated === 2) throw new Error("interrupted");
      },
      2,
    );
    await expect(interrupted).rejects.toThrow("interrupted");
    const resumed = await reevaluateAllMembers(t().database, shop.shop.id, t().clock.now(), undefined, 2);
    expect(resumed).toMatchObject({ resumed: true, evaluated: 5, changed: 5 });
    for (const id of ids) expect((await h.tier(shop, id)).tier.key).toBe("silver");
    // A new run starts from the beginning and finds nothing to change.
    expect(await reevaluateAllMembers(t().database, shop.shop.id, t().clock.now())).toMatchObject({
      resumed: false,
      evaluated: 5,
      changed: 0,
    });
  });
});
