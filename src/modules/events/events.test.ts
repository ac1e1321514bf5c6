import type { LightMyRequestResponse } from "fastify";
import { expect, it } from "vitest";
import {
  bearer,
  createShop,
  describeEachDialect,
  type TestApp,
  type TestShop,
  useTestApp,
} from "../../../test/support/app.js";
import { verifyLedger } from "../ledger/index.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field; expect() checks them.
type Json = Record<string, any>;
const day = 24 * 60 * 60 * 1000;

const tenPerDollar = {
  name: "10 points per $1",
  event_type: "order.paid",
  reward: { type: "per_currency_unit", points: 10, per: { amount: 100, currency: "USD" } },
};

function harness(t: () => TestApp) {
  async function send(
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
    key: string,
    url: string,
    payload?: unknown,
  ) {
    return t().app.inject({
      method,
      url,
      headers: bearer(key),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }
  async function ok(response: Promise<LightMyRequestResponse>, status: number): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.body === "" ? {} : (done.json() as Json);
  }
  const rule = (shop: TestShop, body: Json) => ok(send("POST", shop.secretKey, "/v1/rules", body), 201);
  const event = (shop: TestShop, body: Json, status = 201) =>
    ok(send("POST", shop.secretKey, "/v1/events", body), status);
  const points = (shop: TestShop, memberId: string) =>
    ok(send("GET", shop.secretKey, `/v1/members/${memberId}/points`), 200);
  const order = (id: string, total: number, extra: Json = {}) => ({
    type: "order.paid",
    external_id: `order-${id}-paid`,
    member: { email: "ana@example.com" },
    order: { id, currency: "USD", total, ...extra },
  });
  async function counts() {
    const db = t().database.db;
    const count = async (table: "events" | "ledger_transactions" | "orders" | "members" | "event_awards") =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      events: await count("events"),
      transactions: await count("ledger_transactions"),
      orders: await count("orders"),
      members: await count("members"),
      awards: await count("event_awards"),
    };
  }
  async function expectClean(shop: TestShop) {
    expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
  }
  return { send, ok, rule, event, points, order, counts, expectClean };
}

describeEachDialect("earning rules API", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("creates, versions, disables, enables and archives a rule", async () => {
    const shop = await createShop(t());
    const created = await h.rule(shop, tenPerDollar);
    expect(created).toMatchObject({
      object: "earning_rule",
      status: "active",
      version: 1,
      event_type: "order.paid",
      pending_days: 0,
      expiry_months: 12,
      conditions: null,
      limits: [],
    });
    const changed = await h.ok(
      h.send("PATCH", shop.secretKey, `/v1/rules/${created.id}`, { pending_days: 14, expiry_months: 24 }),
      200,
    );
    expect(changed).toMatchObject({ version: 2, pending_days: 14, expiry_months: 24, reward: tenPerDollar.reward });
    const disabled = await h.ok(h.send("POST", shop.secretKey, `/v1/rules/${created.id}/disable`), 200);
    expect(disabled).toMatchObject({ status: "disabled", version: 3 });
    // The same status again is not a new version.
    expect(await h.ok(h.send("POST", shop.secretKey, `/v1/rules/${created.id}/disable`), 200)).toMatchObject({
      version: 3,
    });
    expect(await h.ok(h.send("POST", shop.secretKey, `/v1/rules/${created.id}/enable`), 200)).toMatchObject({
      status: "active",
      version: 4,
    });
    const versions = await h.ok(h.send("GET", shop.secretKey, `/v1/rules/${created.id}/versions`), 200);
    expect(versions.data.map((version: Json) => [version.version, version.status, version.pending_days])).toEqual([
      [4, "active", 14],
      [3, "disabled", 14],
      [2, "active", 14],
      [1, "active", 0],
    ]);
    await h.ok(h.send("DELETE", shop.secretKey, `/v1/rules/${created.id}`), 204);
    expect((await h.ok(h.send("GET", shop.secretKey, "/v1/rules"), 200)).data).toEqual([]);
    const archived = await h.ok(h.send("GET", shop.secretKey, "/v1/rules?status=archived"), 200);
    expect(archived.data.map((rule: Json) => rule.id)).toEqual([created.id]);
    const refused = await h.ok(h.send("PATCH", shop.secretKey, `/v1/rules/${created.id}`, { name: "Back" }), 409);
    expect(refused.code).toBe("rule_archived");
  });

  it("refuses an invalid rule with a pointer for every problem, and stores nothing", async () => {
    const shop = await createShop(t());
    const response = await h.ok(
      h.send("POST", shop.secretKey, "/v1/rules", {
        event_type: "order.paid",
        conditions: { all: [{ field: "order.subtotal", op: "contains_any", value: ["x"] }] },
        reward: { type: "per_currency_unit", points: 10, per: { amount: 100, currency: "EUR" } },
      }),
      400,
    );
    expect(response.code).toBe("validation_failed");
    const pointers = response.errors.map((error: Json) => error.pointer);
    expect(pointers).toContain("/body/conditions/all/0/op");
    expect(pointers).toContain("/body/reward/per/currency");
    const unknownField = await h.ok(h.send("POST", shop.secretKey, "/v1/rules", { ...tenPerDollar, bonus: 1 }), 400);
    expect(unknownField.code).toBe("validation_failed");
    expect((await h.ok(h.send("GET", shop.secretKey, "/v1/rules?status=active"), 200)).data).toEqual([]);
  });

  it("keeps each shop's rules to itself", async () => {
    const shop = await createShop(t());
    const other = await createShop(t());
    const created = await h.rule(shop, tenPerDollar);
    for (const [method, url] of [
      ["GET", `/v1/rules/${created.id}`],
      ["GET", `/v1/rules/${created.id}/versions`],
      ["PATCH", `/v1/rules/${created.id}`],
      ["POST", `/v1/rules/${created.id}/disable`],
      ["DELETE", `/v1/rules/${created.id}`],
    ] as const) {
      const response = await h.send(method, other.secretKey, url, method === "PATCH" ? { name: "Mine" } : undefined);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().code).toBe("rule_not_found");
    }
    expect((await h.ok(h.send("GET", other.secretKey, "/v1/rules"), 200)).data).toEqual([]);
    expect(await h.ok(h.send("GET", shop.secretKey, `/v1/rules/${created.id}`), 200)).toMatchObject({
      version: 1,
      status: "active",
    });
  });
});

describeEachDialect("events and earning", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("awards an order by the rules, explains it, and stores it once", async () => {
    const shop = await createShop(t());
    const rule = await h.rule(shop, tenPerDollar);
    const first = await h.event(shop, h.order("1001", 6499, { number: "#1001" }));
    expect(first).toMatchObject({ object: "event", status: "processed", points: 649, source: "api", duplicate: false });
    expect(first.explanation.rules).toEqual([
      expect.objectContaining({ rule_id: rule.id, version: 1, matched: true, base: 649, awarded: 649 }),
    ]);
    expect(first.explanation.sentences[0]).toContain('"10 points per $1" (v1) gave 649 points');
    expect(first.explanation.order).toMatchObject({
      conversion: "same_currency",
      shop_total: 6499,
      is_first_order: true,
    });
    const [line] = first.explanation.ledger;
    expect(line).toMatchObject({ points: 649, rule_ids: [rule.id], pending_until: null });
    // Expiry defaults to 12 months from the event.
    expect(line.expires_at).toBe(new Date(Date.parse("2027-03-01T12:00:00.000Z")).toISOString());
    const memberId = first.member_id as string;
    expect((await h.points(shop, memberId)).available).toBe(649);

    const before = await h.counts();
    const again = await h.event(shop, h.order("1001", 6499, { number: "#1001" }), 200);
    expect(again).toMatchObject({ id: first.id, duplicate: true, points: 649 });
    expect(await h.counts()).toEqual(before);
    expect((await h.points(shop, memberId)).available).toBe(649);

    const fetched = await h.ok(h.send("GET", shop.secretKey, `/v1/events/${first.id}`), 200);
    expect(fetched).toMatchObject({ id: first.id, duplicate: false, points: 649 });
    expect(fetched.explanation).toEqual(first.explanation);

    // The same external id for another type is a mistake, not a duplicate.
    const conflict = await h.ok(
      h.send("POST", shop.secretKey, "/v1/events", {
        type: "review.created",
        external_id: "order-1001-paid",
        member_id: memberId,
      }),
      409,
    );
    expect(conflict.code).toBe("event_conflict");
    // A second paid event for the same order (another id) earns nothing more.
    const second = await h.event(shop, { ...h.order("1001", 6499), external_id: "another-id" });
    expect(second).toMatchObject({ status: "skipped", points: 0 });
    expect(second.reason).toContain("already earned its points");
    await h.expectClean(shop);
  });

  it("holds points pending for the rule's return window, then makes them spendable", async () => {
    const shop = await createShop(t());
    await h.rule(shop, { ...tenPerDollar, pending_days: 14 });
    const paid = await h.event(shop, h.order("2001", 10000));
    const memberId = paid.member_id as string;
    expect(await h.points(shop, memberId)).toMatchObject({ available: 0, pending: 1000 });
    expect(paid.explanation.ledger[0].pending_until).toBe(new Date(t().clock.now().getTime() + 14 * day).toISOString());
    t().clock.advance(14 * day + 1);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000, pending: 0 });
    await h.expectClean(shop);
  });

  it("cancels the pending points of a cancelled order", async () => {
    const shop = await createShop(t());
    await h.rule(shop, { ...tenPerDollar, pending_days: 30 });
    const paid = await h.event(shop, h.order("3001", 5000));
    const cancelled = await h.event(shop, {
      type: "order.cancelled",
      external_id: "order-3001-cancelled",
      order: { id: "3001" },
    });
    expect(cancelled).toMatchObject({ points: -500, member_id: paid.member_id });
    expect(cancelled.explanation.clawback).toMatchObject({ reversed_now: 500, debt_recorded: 0 });
    expect(await h.points(shop, paid.member_id)).toMatchObject({ available: 0, pending: 0, debt: 0 });
    await h.expectClean(shop);
  });

  it("takes back points in proportion to partial refunds, exactly the whole on a full refund", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    const paid = await h.event(shop, h.order("4001", 9999));
    expect(paid.points).toBe(999);
    const refund = (id: string, amount: number) =>
      h.event(shop, {
        type: "order.refunded",
        external_id: `refund-${id}`,
        order: { id: "4001" },
        refund: { id, amount, currency: "USD" },
      });
    // Cumulative and rounded down: floor(999 × 2000 / 9999) = 199, then floor(999 × 5000 / 9999) = 499.
    expect((await refund("r1", 2000)).points).toBe(-199);
    expect((await refund("r2", 3000)).points).toBe(-300);
    const last = await refund("r3", 9000); // only 4999 were left to refund
    expect(last.points).toBe(-500);
    expect(last.explanation.clawback).toMatchObject({
      refunded_before: 5000,
      refunded_now: 4999,
      target_reversed: 999,
    });
    expect(last.explanation.notes[0]).toContain("exceed the order total");
    expect(await h.points(shop, paid.member_id)).toMatchObject({ available: 0, lifetime_earned: 0 });
    await h.expectClean(shop);
  });

  it("records what a refund cannot take back as debt, repaid by later earnings", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    const paid = await h.event(shop, h.order("5001", 10000));
    const memberId = paid.member_id as string;
    await h.ok(
      h.send("POST", shop.secretKey, `/v1/members/${memberId}/points/adjustments`, { amount: -800, reason: "Spent" }),
      201,
    );
    const refunded = await h.event(shop, {
      type: "order.refunded",
      external_id: "refund-5001",
      order: { id: "5001" },
      refund: { amount: 10000, currency: "USD" },
    });
    expect(refunded.explanation.clawback).toMatchObject({ reversed_now: 1000, debt_recorded: 800 });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 0, debt: 800 });
    await h.expectClean(shop);

    const next = await h.event(shop, h.order("5002", 5000));
    expect(next.points).toBe(500);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 0, debt: 300 });
    await h.event(shop, h.order("5003", 5000));
    expect(await h.points(shop, memberId)).toMatchObject({ available: 200, debt: 0 });
    await h.expectClean(shop);
  });

  it("counts limits per local day in the shop's time zone", async () => {
    const shop = await createShop(t(), { timezone: "Asia/Tokyo" });
    await h.rule(shop, {
      name: "Review",
      event_type: "review.created",
      reward: { type: "fixed", points: 200 },
      limits: [{ period: "day", max_awards: 1 }],
    });
    const member = await h.ok(h.send("POST", shop.secretKey, "/v1/members"), 201);
    const review = (id: string, at: string) =>
      h.event(shop, { type: "review.created", external_id: id, member_id: member.id, occurred_at: at });
    // 23:59 and 00:01 Tokyo time are different days (14:59 and 15:01 UTC).
    expect((await review("a", "2026-02-27T14:59:00Z")).points).toBe(200);
    expect((await review("b", "2026-02-27T15:01:00Z")).points).toBe(200);
    const third = await review("c", "2026-02-28T14:00:00Z");
    expect(third.points).toBe(0);
    expect(third.explanation.rules[0].limit_cuts).toEqual([
      { limit: "day", max_points: null, max_awards: 1, cut: 200 },
    ]);
    expect(third.explanation.sentences[0]).toContain("the daily limit of 1 award cut 200");
  });

  it("earns on the platform's shop-currency amounts, else on the shop's exchange rate", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    const eur = await h.event(shop, {
      ...h.order("6001", 5000),
      order: { id: "6001", currency: "EUR", total: 5000, shop_money: { currency: "USD", total: 5412 } },
    });
    expect(eur.points).toBe(541);
    expect(eur.explanation.order).toMatchObject({ conversion: "platform", shop_total: 5412 });

    const yen = () =>
      h.event(shop, {
        ...h.order("6002", 0),
        external_id: `yen-${Math.random()}`,
        order: { id: "6002", currency: "JPY", total: 19800 },
      });
    const noRate = await yen();
    expect(noRate).toMatchObject({ status: "skipped", points: 0 });
    expect(noRate.reason).toContain("no exchange rate from JPY");
    // The skipped order is not recorded, so it can earn once a rate exists.
    await h
      .ok(h.send("PUT", shop.secretKey, "/v1/exchange-rates/JPY", { rate: "0.0067" }), 201)
      .catch(async () => h.ok(h.send("PUT", shop.secretKey, "/v1/exchange-rates/JPY", { rate: "0.0067" }), 200));
    const withRate = await yen();
    // ¥19,800 × 0.0067 = $132.66 → 1,326 points.
    expect(withRate).toMatchObject({ status: "processed", points: 1326 });
    expect(withRate.explanation.order).toMatchObject({
      conversion: "exchange_rate",
      rate: "0.0067",
      shop_total: 13266,
    });
  });

  it("doubles points on the member's birthday and rewards an Instagram follow once", async () => {
    const shop = await createShop(t());
    await h.rule(shop, {
      ...tenPerDollar,
      multipliers: [{ numerator: 2, label: "Birthday", when: { field: "member.is_birthday", op: "eq", value: true } }],
    });
    await h.rule(shop, {
      name: "Follow us on Instagram",
      event_type: "social.followed",
      conditions: { field: "event.network", op: "eq", value: "instagram" },
      reward: { type: "fixed", points: 50 },
      limits: [{ period: "lifetime", max_awards: 1 }],
    });
    const member = await h.ok(h.send("POST", shop.secretKey, "/v1/members", { birthday: { month: 3, day: 1 } }), 201);
    const paid = (id: string, at: string) =>
      h.event(shop, { ...h.order(id, 1000), member: undefined, member_id: member.id, occurred_at: at });
    expect((await paid("b1", "2026-03-01T10:00:00Z")).points).toBe(200);
    expect((await paid("b2", "2026-02-28T10:00:00Z")).points).toBe(100);
    const follow = (id: string, network: string) =>
      h.event(shop, { type: "social.followed", external_id: id, member_id: member.id, network });
    expect((await follow("f1", "instagram")).points).toBe(50);
    const again = await follow("f2", "instagram");
    expect(again.points).toBe(0);
    expect(again.explanation.sentences[0]).toContain("the lifetime limit of 1 award cut 50");
    const tiktok = await follow("f3", "tiktok");
    expect(tiktok.explanation.rules[0]).toMatchObject({ matched: false });
    expect(tiktok.explanation.rules[0].reason).toContain("tiktok");
  });

  it("handles a batch in order, reporting refused events at their index and storing the rest", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    const before = await h.counts();
    const response = await h.ok(
      h.send("POST", shop.secretKey, "/v1/events/batch", {
        events: [
          h.order("7001", 1000),
          {
            type: "order.paid",
            external_id: "x",
            member_id: "mem_00000000000000000000000000",
            order: { id: "7002", currency: "USD", total: 1000 },
          },
          {
            type: "order.refunded",
            external_id: "r-7001",
            order: { id: "7001" },
            refund: { amount: 1000, currency: "USD" },
          },
          h.order("7001", 1000),
        ],
      }),
      200,
    );
    expect(response).toMatchObject({ created: 2, duplicates: 1, failed: 1 });
    expect(response.data.map((item: Json) => item.status)).toEqual(["created", "failed", "created", "duplicate"]);
    expect(response.data[1].error).toMatchObject({ status: 404, code: "member_not_found" });
    expect(response.data[1].error.errors[0].pointer).toBe("/body/events/1/member_id");
    expect(response.data[2].event.points).toBe(-100);
    const after = await h.counts();
    expect(after.events - before.events).toBe(2);
    expect(after.orders - before.orders).toBe(1);
    await h.expectClean(shop);
  });

  it("refunds in a batch the orders paid earlier in the same batch, from the credits just written", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    const response = await h.ok(
      h.send("POST", shop.secretKey, "/v1/events/batch", {
        events: [
          h.order("7101", 3000),
          h.order("7102", 5000),
          {
            type: "order.refunded",
            external_id: "r-7101",
            order: { id: "7101" },
            refund: { amount: 1500, currency: "USD" },
          },
          h.order("7103", 2000),
          {
            type: "order.refunded",
            external_id: "r-7102",
            order: { id: "7102" },
            refund: { amount: 5000, currency: "USD" },
          },
        ],
      }),
      200,
    );
    expect(response).toMatchObject({ created: 5, failed: 0 });
    expect(response.data.map((item: Json) => item.event.points)).toEqual([300, 500, -150, 200, -500]);
    const memberId = response.data[0].event.member_id as string;
    expect(await h.points(shop, memberId)).toMatchObject({ available: 350, lifetime_earned: 350 });
    await h.expectClean(shop);
  });

  it("takes a batch larger than the API's usual 1 MiB body limit", async () => {
    const shop = await createShop(t());
    const member = await h.ok(h.send("POST", shop.secretKey, "/v1/members"), 201);
    const events = Array.from({ length: 500 }, (_, index) => ({
      type: "checked_in",
      external_id: `visit-${index}`,
      member_id: member.id,
      data: { note: "x".repeat(2500) },
    }));
    expect(JSON.stringify({ events }).length).toBeGreaterThan(1_048_576);
    const response = await h.ok(h.send("POST", shop.secretKey, "/v1/events/batch", { events }), 200);
    expect(response).toMatchObject({ created: 500, failed: 0 });
  });

  it("runs a batch again with savepoints when an event fails after writing, with the same answer", async () => {
    const shop = await createShop(t());
    await h.rule(shop, { ...tenPerDollar, pending_days: 30 });
    // Pending points that a merge moved to another member cannot be cancelled from the order's
    // own lot: the cancellation fails after it has locked the order, so the batch must fall back.
    const paid = await h.event(shop, h.order("8001", 5000));
    const survivor = await h.ok(h.send("POST", shop.secretKey, "/v1/members"), 201);
    await h.ok(
      h.send("POST", shop.secretKey, `/v1/members/${survivor.id}/merge`, { duplicate_id: paid.member_id }),
      200,
    );
    const before = await h.counts();
    const response = await h.ok(
      h.send("POST", shop.secretKey, "/v1/events/batch", {
        events: [
          { type: "checked_in", external_id: "visit-1", member_id: survivor.id },
          { type: "order.cancelled", external_id: "order-8001-cancelled", order: { id: "8001" } },
          { type: "checked_in", external_id: "visit-2", member_id: survivor.id },
        ],
      }),
      200,
    );
    expect(response.data.map((item: Json) => item.status)).toEqual(["created", "failed", "created"]);
    expect(response.data[1].error.code).toBe("insufficient_points");
    const after = await h.counts();
    expect(after.events - before.events).toBe(2);
    expect(after.transactions).toBe(before.transactions);
    const order = await t()
      .database.db.selectFrom("orders")
      .select(["status", "points_reversed"])
      .where("shop_id", "=", shop.shop.id)
      .where("external_id", "=", "8001")
      .executeTakeFirstOrThrow();
    expect(order).toEqual({ status: "paid", points_reversed: 0 });
    await h.expectClean(shop);
  });

  it("stores an event once when the same one arrives ten times at once", async () => {
    const shop = await createShop(t());
    await h.rule(shop, tenPerDollar);
    const body = h.order("9001", 2500);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => h.send("POST", shop.secretKey, "/v1/events", body)),
    );
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(responses.map((response) => response.json().id));
    expect(ids.size).toBe(1);
    const memberId = responses[0]?.json().member_id as string;
    expect((await h.points(shop, memberId)).available).toBe(250);
    await h.expectClean(shop);
  });

  it("previews draft rules without writing anything", async () => {
    const shop = await createShop(t());
    const before = await h.counts();
    const preview = await h.ok(
      h.send("POST", shop.secretKey, "/v1/rules/preview", {
        rules: [
          tenPerDollar,
          {
            name: "Weekend double",
            event_type: "order.paid",
            reward: { type: "fixed", points: 100 },
            multipliers: [
              {
                numerator: 2,
                label: "Weekend",
                when: { field: "event.weekday", op: "weekday_in", value: ["sat", "sun"] },
              },
            ],
          },
        ],
        event: {
          type: "order.paid",
          occurred_at: "2026-02-28T12:00:00Z",
          order: { id: "p1", currency: "USD", total: 2550 },
        },
      }),
      200,
    );
    expect(preview.explanation.totals).toMatchObject({ matched_rules: 2, awarded: 255 + 200 });
    expect(preview.explanation.sentences[1]).toContain("×2 Weekend");
    expect(await h.counts()).toEqual(before);
    const bad = await h.ok(
      h.send("POST", shop.secretKey, "/v1/rules/preview", {
        rules: [{ event_type: "order.paid", reward: { type: "fixed", points: -1 } }],
        event: { type: "order.paid" },
      }),
      400,
    );
    expect(bad.errors[0].pointer).toMatch(/^\/body\/rules\/0\/reward/);
  });

  it("refuses unknown event types and accepts the shop's own", async () => {
    const shop = await createShop(t());
    const member = await h.ok(h.send("POST", shop.secretKey, "/v1/members"), 201);
    const unknown = await h.ok(
      h.send("POST", shop.secretKey, "/v1/events", { type: "workshop.attended", member_id: member.id }),
      422,
    );
    expect(unknown.code).toBe("unknown_event_type");
    await h.send("PUT", shop.secretKey, "/v1/event-types/workshop.attended", { name: "Attended a workshop" });
    await h.rule(shop, { event_type: "workshop.attended", reward: { type: "fixed", points: 75 } });
    expect((await h.event(shop, { type: "workshop.attended", member_id: member.id })).points).toBe(75);
  });

  it("finds the member by any identifier and links the ones nobody holds yet", async () => {
    const shop = await createShop(t());
    const known = await h.ok(
      h.send("POST", shop.secretKey, "/v1/members", { identifiers: [{ kind: "email", value: "lee@example.com" }] }),
      201,
    );
    const event = await h.event(shop, {
      type: "checked_in",
      member: { shopify_id: "7001", email: "LEE@example.com", phone: "+14155550100" },
    });
    expect(event.member_id).toBe(known.id);
    const member = await h.ok(h.send("GET", shop.secretKey, `/v1/members/${known.id}`), 200);
    expect(member.identifiers.map((identifier: Json) => `${identifier.kind}:${identifier.value}`).sort()).toEqual([
      "email:lee@example.com",
      "phone:+14155550100",
      "shopify:7001",
    ]);
    const again = await h.event(shop, { type: "checked_in", member: { shopify_id: "7001" } });
    expect(again.member_id).toBe(known.id);
  });

  it("gives nothing to cancelled members and credits a merged member's survivor", async () => {
    const shop = await createShop(t());
    await h.rule(shop, { event_type: "checked_in", reward: { type: "fixed", points: 10 } });
    const cancelled = await h.ok(h.send("POST", shop.secretKey, "/v1/members"), 201);
    await h.ok(h.send("DELETE", shop.secretKey, `/v1/members/${cancelled.id}`), 200).catch(() => undefined);
    const refused = await h.event(shop, { type: "checked_in", member_id: cancelled.id });
    expect(refused).toMatchObject({ status: "skipped", points: 0 });
    expect(refused.reason).toContain("cancelled");

    const survivor = await h.ok(h.send("POST", shop.secretKey, "/v1/members"), 201);
    const duplicate = await h.ok(h.send("POST", shop.secretKey, "/v1/members"), 201);
    await h.ok(h.send("POST", shop.secretKey, `/v1/members/${survivor.id}/merge`, { duplicate_id: duplicate.id }), 200);
    const credited = await h.event(shop, { type: "checked_in", member_id: duplicate.id });
    expect(credited).toMatchObject({ member_id: survivor.id, points: 10 });
    expect((await h.points(shop, survivor.id)).available).toBe(10);
  });

  it("answers bad input with problem+json and stores nothing", async () => {
    const shop = await createShop(t());
    const before = await h.counts();
    const cases: Array<[unknown, number]> = [
      [{ type: "order.paid", member: { email: "a@example.com" } }, 422], // no order
      [{ type: "order.paid", member: { email: "a@example.com" }, order: { id: "1" } }, 422], // no amounts
      [{ type: "order.refunded", order: { id: "1" } }, 422], // no refund
      [{ type: "Bad Type" }, 400],
      [{ type: "checked_in", member: {} }, 422],
      [{ type: "checked_in", member: { email: "not an email" } }, 422],
      [{ type: "checked_in", occurred_at: "2030-01-01T00:00:00Z", member: { email: "a@example.com" } }, 422],
      [{ type: "checked_in", surprise: true }, 400],
    ];
    for (const [body, status] of cases) {
      const response = await h.send("POST", shop.secretKey, "/v1/events", body);
      expect(response.statusCode, JSON.stringify(body) + response.body).toBe(status);
      expect(response.headers["content-type"]).toContain("application/problem+json");
    }
    const malformed = await t().app.inject({
      method: "POST",
      url: "/v1/events",
      headers: { ...bearer(shop.secretKey), "content-type": "application/json" },
      payload: "{not json",
    });
    expect(malformed.statusCode).toBe(400);
    const checkIn = { type: "checked_in", member: { email: "a@example.com" } };
    for (const events of [[], Array.from({ length: 1001 }, () => checkIn)]) {
      const batch = await h.send("POST", shop.secretKey, "/v1/events/batch", { events });
      expect(batch.statusCode, `${events.length} events`).toBe(400);
      expect(batch.json().code).toBe("validation_failed");
    }
    expect(await h.counts()).toEqual(before);
  });

  it("keeps each shop's events and members to itself", async () => {
    const shop = await createShop(t());
    const other = await createShop(t());
    const member = await h.ok(h.send("POST", shop.secretKey, "/v1/members"), 201);
    const created = await h.event(shop, { type: "checked_in", member_id: member.id });
    const fetched = await h.send("GET", other.secretKey, `/v1/events/${created.id}`);
    expect(fetched.statusCode).toBe(404);
    expect(fetched.json().code).toBe("event_not_found");
    expect((await h.ok(h.send("GET", other.secretKey, "/v1/events"), 200)).data).toEqual([]);
    const foreign = await h.send("POST", other.secretKey, "/v1/events", { type: "checked_in", member_id: member.id });
    expect(foreign.statusCode).toBe(404);
    const foreignBatch = await h.ok(
      h.send("POST", other.secretKey, "/v1/events/batch", { events: [{ type: "checked_in", member_id: member.id }] }),
      200,
    );
    expect(foreignBatch).toMatchObject({ created: 0, failed: 1 });
    expect(foreignBatch.data[0].error.code).toBe("member_not_found");
    // The same external id in another shop is another event.
    const mine = await h.event(shop, { type: "checked_in", external_id: "same", member_id: member.id });
    const theirs = await h.event(other, {
      type: "checked_in",
      external_id: "same",
      member: { email: "x@example.com" },
    });
    expect(theirs.id).not.toBe(mine.id);
    const preview = await h.send("POST", other.secretKey, "/v1/rules/preview", {
      event: { type: "checked_in" },
      member_id: member.id,
    });
    expect(preview.statusCode).toBe(404);
  });
});
