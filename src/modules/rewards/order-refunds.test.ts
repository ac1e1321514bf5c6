import { beforeEach, expect, it } from "vitest";
import { createShop, describeEachDialect, type TestApp, type TestShop, useTestApp } from "../../../test/support/app.js";
import { apiCalls, type Json } from "../../../test/support/http.js";
import { verifyLedger } from "../ledger/index.js";

const minute = 60 * 1000;
const start = "2026-03-01T12:00:00.000Z";

const usd = (amount: number) => ({ amount, currency: "USD" });

/** $5 off for 500 points. */
function fiveOff(extra: Json = {}): Json {
  return {
    type: "amount_off",
    name: { en: "$5 off" },
    value: { amounts: [usd(500)] },
    cost: { type: "fixed", points: 500 },
    ...extra,
  };
}

function harness(t: () => TestApp) {
  const { send, ok } = apiCalls(t);

  const member = async (shop: TestShop) =>
    (await ok(send("POST", shop.secretKey, "/v1/members", {}), 201)).id as string;
  const credit = (shop: TestShop, memberId: string, amount: number) =>
    ok(send("POST", shop.secretKey, `/v1/members/${memberId}/points/adjustments`, { amount, reason: "Test" }), 201);
  const memberWith = async (shop: TestShop, amount: number) => {
    const id = await member(shop);
    await credit(shop, id, amount);
    return id;
  };
  const points = (shop: TestShop, memberId: string) =>
    ok(send("GET", shop.secretKey, `/v1/members/${memberId}/points`));
  const setPolicy = async (shop: TestShop, policy: "keep" | "return") => {
    const updated = await ok(send("PATCH", shop.secretKey, "/v1/shop", { redeemed_points_on_refund: policy }));
    expect(updated.redeemed_points_on_refund).toBe(policy);
  };
  const reward = (shop: TestShop, body: Json) => ok(send("POST", shop.secretKey, "/v1/rewards", body), 201);
  /** The member redeems a new reward: its redemption. */
  async function redeem(shop: TestShop, memberId: string, body: Json = fiveOff()): Promise<Json> {
    const created = await reward(shop, body);
    return ok(send("POST", shop.secretKey, `/v1/members/${memberId}/redemptions`, { reward_id: created.id }), 201);
  }
  const redemption = (shop: TestShop, id: string) => ok(send("GET", shop.secretKey, `/v1/redemptions/${id}`));
  const transaction = (shop: TestShop, id: string) => ok(send("GET", shop.secretKey, `/v1/points/transactions/${id}`));
  const holdPoints = (shop: TestShop, cartId: string, memberId: string, amount: number, extra: Json = {}) =>
    ok(
      send("PUT", shop.secretKey, `/v1/checkouts/${cartId}/points`, {
        member_id: memberId,
        points: amount,
        cart: { total: 100_000, currency: "USD" },
        ...extra,
      }),
    );
  const checkout = (shop: TestShop, cartId: string) =>
    ok(send("GET", shop.secretKey, `/v1/checkouts/${cartId}/points`));

  const event = (shop: TestShop, body: Json, status = 201) =>
    ok(send("POST", shop.secretKey, "/v1/events", body), status);
  const getEvent = (shop: TestShop, id: string) => ok(send("GET", shop.secretKey, `/v1/events/${id}`));
  const paid = (
    memberId: string,
    orderId: string,
    total: number,
    extra: Json = {},
    externalId = `order-${orderId}-paid`,
  ) => ({
    type: "order.paid",
    external_id: externalId,
    member_id: memberId,
    order: { id: orderId, currency: "USD", total, ...extra },
  });
  const cancelled = (orderId: string, externalId = `order-${orderId}-cancelled`) => ({
    type: "order.cancelled",
    external_id: externalId,
    order: { id: orderId },
  });
  const refunded = (orderId: string, amount: number, externalId: string) => ({
    type: "order.refunded",
    external_id: externalId,
    order: { id: orderId },
    refund: { amount, currency: "USD" },
  });

  async function outcomes(shop: TestShop) {
    const rows = await t()
      .database.db.selectFrom("order_reward_outcomes")
      .selectAll()
      .where("shop_id", "=", shop.shop.id)
      .orderBy("id")
      .execute();
    return rows.map((row) => ({ ...row, points: Number(row.points) }));
  }
  async function outbox(shop: TestShop, type: string) {
    const rows = await t()
      .database.db.selectFrom("outbox")
      .selectAll()
      .where("shop_id", "=", shop.shop.id)
      .where("type", "=", type)
      .orderBy("id")
      .execute();
    return rows.map((row) => JSON.parse(row.payload) as Json);
  }
  async function count(
    shop: TestShop,
    table: "ledger_transactions" | "outbox" | "order_reward_outcomes" | "redemptions" | "events",
  ): Promise<number> {
    return Number(
      (
        await t()
          .database.db.selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("shop_id", "=", shop.shop.id)
          .executeTakeFirstOrThrow()
      ).n,
    );
  }
  async function reversals(shop: TestShop): Promise<Json[]> {
    const rows = await t()
      .database.db.selectFrom("ledger_transactions")
      .selectAll()
      .where("shop_id", "=", shop.shop.id)
      .where("type", "=", "reverse")
      .orderBy("id")
      .execute();
    return rows.map((row) => ({ id: row.id, amount: Number(row.amount), reverses: row.reverses_transaction_id }));
  }
  /** What an order's rewards are: the redemptions, the member's points and the rows written. */
  async function snapshot(shop: TestShop, memberId: string, redemptionIds: string[] = []) {
    const summary = await points(shop, memberId);
    const redemptions = [];
    for (const id of redemptionIds) redemptions.push(await redemption(shop, id));
    return {
      available: summary.available,
      spent: summary.lifetime_spent,
      redemptions,
      outcomes: await outcomes(shop),
      transactions: await count(shop, "ledger_transactions"),
      outbox: await count(shop, "outbox"),
    };
  }
  async function expectCleanLedger(shop: TestShop) {
    expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
  }

  return {
    send,
    ok,
    member,
    credit,
    memberWith,
    points,
    setPolicy,
    reward,
    redeem,
    redemption,
    transaction,
    holdPoints,
    checkout,
    event,
    getEvent,
    paid,
    cancelled,
    refunded,
    outcomes,
    outbox,
    count,
    reversals,
    snapshot,
    expectCleanLedger,
  };
}

describeEachDialect("orders and reward codes", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);
  beforeEach(() => t().clock.set(start));

  it("marks a Laurel code used on the order.paid that names it, once", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    expect(redeemed).toMatchObject({ status: "issued", points: 500, order_id: null });
    const code = redeemed.code as string;
    t().clock.advance(minute);
    const paid = await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [code] }));
    expect(paid).toMatchObject({ status: "processed", order_id: "5001", member_id: memberId });
    expect(paid.explanation.notes).toEqual([`code ${code} marked used on order 5001`]);
    expect((await h.getEvent(shop, paid.id)).explanation.notes).toEqual(paid.explanation.notes);
    const used = await h.redemption(shop, redeemed.id);
    expect(used).toMatchObject({
      id: redeemed.id,
      status: "used",
      order_id: "5001",
      used_at: t().clock.now().toISOString(),
      points: 500,
      transaction_id: redeemed.transaction_id,
      refund_transaction_id: null,
    });
    const consumed = await h.outbox(shop, "code.consumed");
    expect(consumed).toHaveLength(1);
    expect(consumed[0]).toMatchObject({
      type: "code.consumed",
      shop_id: shop.shop.id,
      data: { member_id: memberId, redemption_id: redeemed.id, code, order_id: "5001" },
    });
    // Using a code spends nothing more: the points were spent when it was redeemed.
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1500, lifetime_spent: 500 });

    // The same order.paid again is a duplicate and changes nothing.
    const before = await h.snapshot(shop, memberId, [redeemed.id]);
    t().clock.advance(minute);
    const again = await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [code] }), 200);
    expect(again).toMatchObject({ id: paid.id, duplicate: true });
    expect(await h.snapshot(shop, memberId, [redeemed.id])).toEqual(before);
    // So is another event for the same order (the order already earned and used its codes).
    const other = await h.event(
      shop,
      h.paid(memberId, "5001", 3000, { discount_codes: [code] }, "order-5001-paid-again"),
    );
    expect(other.explanation.notes).toEqual([]);
    expect(await h.snapshot(shop, memberId, [redeemed.id])).toEqual(before);
    await h.expectCleanLedger(shop);
  });

  it("finds the code whatever its case or surrounding spaces", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    const typed = ` ${(redeemed.code as string).toLowerCase()} `;
    const paid = await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [typed] }));
    expect(paid.explanation.notes).toHaveLength(1);
    expect(await h.redemption(shop, redeemed.id)).toMatchObject({ status: "used", order_id: "5001" });
  });

  it("ignores codes Laurel did not issue, and another shop's codes", async () => {
    const shop = await createShop(t());
    const other = await createShop(t());
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    const code = redeemed.code as string;
    const otherMember = await h.memberWith(other, 100);
    const before = await h.snapshot(shop, memberId, [redeemed.id]);

    // Only the platform's own codes, and this shop's code sent to the other shop.
    const foreign = await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: ["SUMMER10", "WELCOME"] }));
    expect(foreign).toMatchObject({ status: "processed" });
    expect(foreign.explanation.notes).toEqual([]);
    const elsewhere = await h.event(other, h.paid(otherMember, "5001", 3000, { discount_codes: [code] }));
    expect(elsewhere.explanation.notes).toEqual([]);
    expect(await h.snapshot(shop, memberId, [redeemed.id])).toEqual(before);
    expect(await h.outbox(other, "code.consumed")).toEqual([]);

    // A platform code next to Laurel's: Laurel's is used, the other passed over in silence.
    const mixed = await h.event(shop, h.paid(memberId, "5002", 3000, { discount_codes: ["SUMMER10", code] }));
    expect(mixed.explanation.notes).toEqual([`code ${code} marked used on order 5002`]);
    expect(await h.redemption(shop, redeemed.id)).toMatchObject({ status: "used", order_id: "5002" });
  });

  it("does not mark a cancelled redemption's code used, and says why in the explanation", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    const code = redeemed.code as string;
    await h.ok(h.send("POST", shop.secretKey, `/v1/redemptions/${redeemed.id}/cancel`, { reason: "Changed mind" }));
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    const before = await h.snapshot(shop, memberId, [redeemed.id]);
    expect(before.redemptions[0]).toMatchObject({ status: "cancelled", order_id: null });

    const paid = await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [code] }));
    expect(paid.status).toBe("processed");
    expect(paid.explanation.notes).toHaveLength(1);
    expect(paid.explanation.notes[0]).toContain(`code ${code}`);
    expect(paid.explanation.notes[0]).toContain("cancelled");
    expect(await h.redemption(shop, redeemed.id)).toMatchObject({ status: "cancelled", order_id: null, used_at: null });
    expect(await h.outbox(shop, "code.consumed")).toEqual([]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });

    // Its points came back with the cancellation: the order's cancellation returns nothing more.
    await h.setPolicy(shop, "return");
    const undone = await h.event(shop, h.cancelled("5001"));
    expect(undone.explanation.notes).toEqual([]);
    expect(await h.outcomes(shop)).toEqual([]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    await h.expectCleanLedger(shop);
  });

  it("marks a code used even when the order is below its minimum: the platform already applied it", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId, fiveOff({ min_order: [usd(5000)] }));
    const code = redeemed.code as string;
    // The code checked against the same cart would be refused.
    const validated = await h.ok(
      h.send("POST", shop.secretKey, "/v1/codes/validate", { code, cart: { total: 3000, currency: "USD" } }),
    );
    expect(validated.applies).toBe(false);
    const paid = await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [code] }));
    expect(paid.explanation.notes).toEqual([`code ${code} marked used on order 5001`]);
    expect(await h.redemption(shop, redeemed.id)).toMatchObject({ status: "used", order_id: "5001" });
    expect(await h.outbox(shop, "code.consumed")).toHaveLength(1);
  });

  it("notes a code already used on another order and leaves it on the first", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    const code = redeemed.code as string;
    await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [code] }));
    const second = await h.event(shop, h.paid(memberId, "5002", 3000, { discount_codes: [code] }));
    expect(second.status).toBe("processed");
    expect(second.explanation.notes).toEqual([`code ${code}: The code was used on order 5001`]);
    expect(await h.redemption(shop, redeemed.id)).toMatchObject({ status: "used", order_id: "5001" });
    expect(await h.outbox(shop, "code.consumed")).toHaveLength(1);
    // Cancelling the second order does not touch the first order's code.
    await h.setPolicy(shop, "return");
    const undone = await h.event(shop, h.cancelled("5002"));
    expect(undone.explanation.notes).toEqual([]);
    expect(await h.outcomes(shop)).toEqual([]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1500, lifetime_spent: 500 });
  });
});

describeEachDialect("the refund policy for points spent on orders", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);
  beforeEach(() => t().clock.set(start));

  /** A member with 2,000 points who redeemed $5 off and used it on order 5001 ($30.00). */
  async function usedOnOrder(shop: TestShop) {
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    const paid = await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [redeemed.code] }));
    expect(await h.redemption(shop, redeemed.id)).toMatchObject({ status: "used", order_id: "5001" });
    return { memberId, redeemed, code: redeemed.code as string, paid };
  }

  it("keeps the points spent by default when the order is cancelled, and records that once", async () => {
    const shop = await createShop(t());
    expect(shop.shop.redeemedPointsOnRefund).toBe("keep");
    const { memberId, redeemed, code } = await usedOnOrder(shop);
    t().clock.advance(minute);
    const undone = await h.event(shop, h.cancelled("5001"));
    expect(undone).toMatchObject({ status: "processed", order_id: "5001", member_id: memberId });
    expect(undone.explanation.notes).toEqual([`code ${code}: 500 points stay spent (shop policy: keep)`]);
    expect((await h.getEvent(shop, undone.id)).explanation.notes).toEqual(undone.explanation.notes);
    expect(await h.outcomes(shop)).toEqual([
      {
        shop_id: shop.shop.id,
        id: expect.any(String),
        order_id: "5001",
        member_id: memberId,
        subject_type: "redemption",
        subject_id: redeemed.id,
        policy: "keep",
        points: 0,
        transaction_id: null,
        event_id: undone.id,
        created_at: t().clock.now().toISOString(),
      },
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1500, lifetime_spent: 500 });
    expect(await h.redemption(shop, redeemed.id)).toMatchObject({ status: "used", order_id: "5001" });

    // The decision stands: cancelling again, or switching the policy afterwards, returns nothing.
    await h.setPolicy(shop, "return");
    const before = await h.snapshot(shop, memberId, [redeemed.id]);
    const again = await h.event(shop, h.cancelled("5001", "order-5001-cancelled-again"));
    expect(again.explanation.notes).toEqual(["order 5001 was already cancelled"]);
    const refund = await h.event(shop, h.refunded("5001", 3000, "order-5001-refunded"));
    expect(refund.explanation.notes).toEqual([]);
    expect(await h.snapshot(shop, memberId, [redeemed.id])).toEqual(before);
    await h.expectCleanLedger(shop);
  });

  it("returns the redemption's points when the policy is return and the order is cancelled", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const { memberId, redeemed, code } = await usedOnOrder(shop);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1500, lifetime_spent: 500 });
    t().clock.advance(minute);
    const undone = await h.event(shop, h.cancelled("5001"));
    expect(undone.status).toBe("processed");
    expect(undone.explanation.notes).toEqual([`code ${code}: 500 points returned (shop policy: return)`]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    const [outcome] = await h.outcomes(shop);
    expect(outcome).toMatchObject({
      order_id: "5001",
      member_id: memberId,
      subject_type: "redemption",
      subject_id: redeemed.id,
      policy: "return",
      points: 500,
      event_id: undone.id,
    });
    expect(outcome?.transaction_id).toEqual(expect.any(String));
    expect(await h.transaction(shop, outcome?.transaction_id as string)).toMatchObject({
      type: "reverse",
      amount: 500,
      member_id: memberId,
      reverses_transaction_id: redeemed.transaction_id,
      reference: "5001",
    });
    expect(await h.reversals(shop)).toHaveLength(1);
    // The code stays used on the order: only the points came back.
    expect(await h.redemption(shop, redeemed.id)).toMatchObject({ status: "used", order_id: "5001" });

    // A second cancellation, and a refund, return nothing more.
    await h.event(shop, h.cancelled("5001", "order-5001-cancelled-again"));
    await h.event(shop, h.refunded("5001", 3000, "order-5001-refunded"));
    expect(await h.reversals(shop)).toHaveLength(1);
    expect(await h.outcomes(shop)).toHaveLength(1);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    await h.expectCleanLedger(shop);
  });

  it("applies the policy only when the refunds add up to the whole order, exactly once", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const { memberId, redeemed, code } = await usedOnOrder(shop);
    const partial = await h.event(shop, h.refunded("5001", 1000, "refund-1"));
    expect(partial.status).toBe("processed");
    expect(partial.explanation.notes).toEqual([]);
    expect(await h.outcomes(shop)).toEqual([]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1500, lifetime_spent: 500 });
    const almost = await h.event(shop, h.refunded("5001", 1999, "refund-2"));
    expect(almost.explanation.notes).toEqual([]);
    expect(await h.outcomes(shop)).toEqual([]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1500, lifetime_spent: 500 });

    // The last cent.
    const rest = await h.event(shop, h.refunded("5001", 1, "refund-3"));
    expect(rest.explanation.notes).toEqual([`code ${code}: 500 points returned (shop policy: return)`]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    expect(await h.outcomes(shop)).toEqual([
      expect.objectContaining({ subject_id: redeemed.id, policy: "return", points: 500, event_id: rest.id }),
    ]);

    // A later cancellation, or more refunds, do not return the points again.
    const cancel = await h.event(shop, h.cancelled("5001"));
    expect(cancel.explanation.notes).toEqual([]);
    const extra = await h.event(shop, h.refunded("5001", 500, "refund-4"));
    expect(extra.explanation.notes).toEqual([
      "the refunds exceed the order total; only 0 of 500 counted toward taking points back",
    ]);
    expect(await h.reversals(shop)).toHaveLength(1);
    expect(await h.outcomes(shop)).toHaveLength(1);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    await h.expectCleanLedger(shop);
  });

  it("applies the policy on one refund of the whole order, or more", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const { memberId } = await usedOnOrder(shop);
    const refund = await h.event(shop, h.refunded("5001", 3500, "refund-all"));
    expect(refund.explanation.notes).toContain(
      "the refunds exceed the order total; only 3000 of 3500 counted toward taking points back",
    );
    expect(await h.outcomes(shop)).toEqual([expect.objectContaining({ policy: "return", points: 500 })]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
  });

  it("records keep for a partial-then-complete refund under the default policy", async () => {
    const shop = await createShop(t());
    const { memberId, redeemed, code } = await usedOnOrder(shop);
    await h.event(shop, h.refunded("5001", 2000, "refund-1"));
    expect(await h.outcomes(shop)).toEqual([]);
    const rest = await h.event(shop, h.refunded("5001", 1000, "refund-2"));
    expect(rest.explanation.notes).toEqual([`code ${code}: 500 points stay spent (shop policy: keep)`]);
    expect(await h.outcomes(shop)).toEqual([
      expect.objectContaining({ subject_id: redeemed.id, policy: "keep", points: 0, transaction_id: null }),
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1500, lifetime_spent: 500 });
  });

  it("takes back the order's earned points and applies the policy in the same cancellation", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    await h.ok(
      h.send("POST", shop.secretKey, "/v1/rules", {
        name: "10 points per $1",
        event_type: "order.paid",
        reward: { type: "per_currency_unit", points: 10, per: { amount: 100, currency: "USD" } },
      }),
      201,
    );
    const { memberId, code } = await usedOnOrder(shop);
    // 2,000 - 500 spent + 300 earned on the $30.00 order.
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1800, lifetime_spent: 500 });
    const undone = await h.event(shop, h.cancelled("5001"));
    expect(undone).toMatchObject({ points: -300 });
    expect(undone.explanation.clawback).toMatchObject({ reversed_now: 300 });
    expect(undone.explanation.notes).toEqual([`code ${code}: 500 points returned (shop policy: return)`]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    await h.expectCleanLedger(shop);
  });
});

describeEachDialect("the refund policy for points at checkout", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);
  beforeEach(() => t().clock.set(start));

  it("keeps points at checkout spent under keep, recording the decision for the cart", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 2000);
    await h.holdPoints(shop, "cart-1", memberId, 700);
    const paid = await h.event(shop, h.paid(memberId, "6001", 3000, { cart_id: "cart-1" }));
    expect(paid.explanation.notes).toEqual(["700 points held for cart cart-1 spent on order 6001"]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1300, reserved: 0, lifetime_spent: 700 });
    const undone = await h.event(shop, h.cancelled("6001"));
    expect(undone.explanation.notes).toEqual([
      "points at checkout (cart cart-1): 700 points stay spent (shop policy: keep)",
    ]);
    expect(await h.outcomes(shop)).toEqual([
      expect.objectContaining({
        order_id: "6001",
        member_id: memberId,
        subject_type: "checkout_points",
        subject_id: "cart-1",
        policy: "keep",
        points: 0,
        transaction_id: null,
        event_id: undone.id,
      }),
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1300, lifetime_spent: 700 });
    expect(await h.checkout(shop, "cart-1")).toMatchObject({ status: "committed", order_id: "6001" });
  });

  it("returns points at checkout under return, once", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const memberId = await h.memberWith(shop, 2000);
    const held = await h.holdPoints(shop, "cart-1", memberId, 700);
    await h.event(shop, h.paid(memberId, "6001", 3000, { cart_id: "cart-1" }));
    const spent = await h.ok(h.send("GET", shop.secretKey, `/v1/points/reservations/${held.reservation_id}`));
    const undone = await h.event(shop, h.cancelled("6001"));
    expect(undone.explanation.notes).toEqual([
      "points at checkout (cart cart-1): 700 points returned (shop policy: return)",
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, reserved: 0, lifetime_spent: 0 });
    const [outcome] = await h.outcomes(shop);
    expect(outcome).toMatchObject({
      subject_type: "checkout_points",
      subject_id: "cart-1",
      policy: "return",
      points: 700,
    });
    expect(await h.transaction(shop, outcome?.transaction_id as string)).toMatchObject({
      type: "reverse",
      amount: 700,
      reverses_transaction_id: spent.commit_transaction_id,
    });
    await h.event(shop, h.refunded("6001", 3000, "refund-all"));
    expect(await h.reversals(shop)).toHaveLength(1);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    await h.expectCleanLedger(shop);
  });

  it("returns points spent after the hold ran out, like a hold committed in time", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const memberId = await h.memberWith(shop, 2000);
    await h.holdPoints(shop, "cart-1", memberId, 700, { hold_seconds: 600 });
    t().clock.advance(11 * minute);
    const paid = await h.event(shop, h.paid(memberId, "6001", 3000, { cart_id: "cart-1" }));
    expect(paid.explanation.notes).toEqual([
      "the hold on cart cart-1 had run out; 700 points spent from the available balance",
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1300, lifetime_spent: 700 });
    const undone = await h.event(shop, h.cancelled("6001"));
    expect(undone.explanation.notes).toEqual([
      "points at checkout (cart cart-1): 700 points returned (shop policy: return)",
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    await h.expectCleanLedger(shop);
  });

  it("applies the policy to a code and points at checkout on the same order, each once", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    await h.holdPoints(shop, "cart-1", memberId, 700);
    const paid = await h.event(
      shop,
      h.paid(memberId, "6001", 3000, { cart_id: "cart-1", discount_codes: [redeemed.code] }),
    );
    expect(paid.explanation.notes).toEqual([
      `code ${redeemed.code} marked used on order 6001`,
      "700 points held for cart cart-1 spent on order 6001",
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 800, lifetime_spent: 1200 });
    await h.event(shop, h.refunded("6001", 1500, "refund-1"));
    expect(await h.points(shop, memberId)).toMatchObject({ available: 800, lifetime_spent: 1200 });
    const rest = await h.event(shop, h.refunded("6001", 1500, "refund-2"));
    expect(rest.explanation.notes).toEqual([
      `code ${redeemed.code}: 500 points returned (shop policy: return)`,
      "points at checkout (cart cart-1): 700 points returned (shop policy: return)",
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    expect(
      (await h.outcomes(shop)).map((row) => [row.subject_type, row.subject_id, row.policy, row.points]).sort(),
    ).toEqual([
      ["checkout_points", "cart-1", "return", 700],
      ["redemption", redeemed.id, "return", 500],
    ]);
    await h.event(shop, h.cancelled("6001"));
    expect(await h.reversals(shop)).toHaveLength(2);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    await h.expectCleanLedger(shop);
  });

  it("leaves points held on a cart whose order was never paid alone when an order is cancelled", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const memberId = await h.memberWith(shop, 2000);
    await h.holdPoints(shop, "cart-1", memberId, 700);
    // Another order (without the cart) is paid and cancelled.
    await h.event(shop, h.paid(memberId, "6002", 3000));
    const undone = await h.event(shop, h.cancelled("6002"));
    expect(undone.explanation.notes).toEqual([]);
    expect(await h.outcomes(shop)).toEqual([]);
    expect(await h.checkout(shop, "cart-1")).toMatchObject({ status: "active", order_id: null });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1300, reserved: 700, lifetime_spent: 0 });
  });
});

describeEachDialect("the refund policy when the points were already given back by hand", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);
  beforeEach(() => t().clock.set(start));

  it("still accepts the cancellation when support already reversed the whole spend, returning nothing twice", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [redeemed.code] }));
    await h.ok(
      h.send("POST", shop.secretKey, `/v1/points/transactions/${redeemed.transaction_id}/reverse`, {
        reason: "Goodwill",
      }),
      201,
    );
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    // The platform's cancellation is a fact: it is recorded, and no point is returned a second time.
    const undone = await h.event(shop, h.cancelled("5001"));
    expect(undone.status).toBe("processed");
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    expect(await h.reversals(shop)).toHaveLength(1);
    await h.expectCleanLedger(shop);
  });

  it("returns only what support has not already reversed, and records that amount", async () => {
    const shop = await createShop(t());
    await h.setPolicy(shop, "return");
    const memberId = await h.memberWith(shop, 2000);
    const redeemed = await h.redeem(shop, memberId);
    await h.event(shop, h.paid(memberId, "5001", 3000, { discount_codes: [redeemed.code] }));
    await h.ok(
      h.send("POST", shop.secretKey, `/v1/points/transactions/${redeemed.transaction_id}/reverse`, {
        amount: 200,
        reason: "Goodwill",
      }),
      201,
    );
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1700, lifetime_spent: 300 });
    const undone = await h.event(shop, h.cancelled("5001"));
    expect(undone.status).toBe("processed");
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, lifetime_spent: 0 });
    const [outcome] = await h.outcomes(shop);
    const returned = await h.transaction(shop, outcome?.transaction_id as string);
    expect(returned.amount).toBe(300);
    // What the outcome and the explanation say was returned is what the ledger returned.
    expect(outcome?.points).toBe(returned.amount);
    expect(undone.explanation.notes).toEqual([
      `code ${redeemed.code}: 300 points returned (shop policy: return; the other 200 had already been reversed)`,
    ]);
    await h.expectCleanLedger(shop);
  });
});
