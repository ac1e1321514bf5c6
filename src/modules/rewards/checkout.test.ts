import type { LightMyRequestResponse } from "fastify";
import { beforeEach, expect, it } from "vitest";
import { createShop, describeEachDialect, type TestApp, type TestShop, useTestApp } from "../../../test/support/app.js";
import { apiCalls, type Json, type Method } from "../../../test/support/http.js";
import { verifyLedger } from "../ledger/index.js";

const second = 1000;
const minute = 60 * second;
const start = "2026-03-01T12:00:00.000Z";

const cart = (total: number, currency = "USD") => ({ total, currency });

function harness(t: () => TestApp) {
  const { send, ok, problem } = apiCalls(t);
  /** A 422 invalid_field_value naming exactly these pointers. */
  async function invalidField(response: Promise<LightMyRequestResponse>, pointers: string[]): Promise<Json> {
    const body = await problem(response, 422, "invalid_field_value");
    expect((body.errors as Json[]).map((error) => error.pointer)).toEqual(pointers);
    return body;
  }
  /** A 400 validation_failed; its pointers, sorted, each once. */
  async function invalid(response: Promise<LightMyRequestResponse>): Promise<string[]> {
    const body = await problem(response, 400, "validation_failed");
    return [...new Set((body.errors as Json[]).map((error) => error.pointer as string))].sort();
  }

  const member = async (shop: TestShop) =>
    (await ok(send("POST", shop.secretKey, "/v1/members", {}), 201)).id as string;
  const credit = (shop: TestShop, memberId: string, amount: number) =>
    ok(send("POST", shop.secretKey, `/v1/members/${memberId}/points/adjustments`, { amount, reason: "Test" }), 201);
  /** A member with these points, credited by hand. */
  const memberWith = async (shop: TestShop, amount: number) => {
    const id = await member(shop);
    if (amount > 0) await credit(shop, id, amount);
    return id;
  };
  const points = (shop: TestShop, memberId: string) =>
    ok(send("GET", shop.secretKey, `/v1/members/${memberId}/points`));
  const patchShop = (shop: TestShop, body: Json) => ok(send("PATCH", shop.secretKey, "/v1/shop", body));
  async function setRate(shop: TestShop, currency: string, rate: string) {
    const done = await send("PUT", shop.secretKey, `/v1/exchange-rates/${currency}`, { rate });
    expect([200, 201], done.body).toContain(done.statusCode);
  }

  const url = (cartId: string) => `/v1/checkouts/${encodeURIComponent(cartId)}/points`;
  const put = (shop: TestShop, cartId: string, body: Json, key = shop.secretKey) => send("PUT", key, url(cartId), body);
  const putOk = (shop: TestShop, cartId: string, body: Json) => ok(put(shop, cartId, body));
  const get = (shop: TestShop, cartId: string, key = shop.secretKey) => send("GET", key, url(cartId));
  const getOk = (shop: TestShop, cartId: string) => ok(get(shop, cartId));
  const remove = (shop: TestShop, cartId: string, key = shop.secretKey) => send("DELETE", key, url(cartId));
  const commit = (shop: TestShop, cartId: string, orderId: string, key = shop.secretKey) =>
    send("POST", key, `${url(cartId)}/commit`, { order_id: orderId });

  const token = async (shop: TestShop, memberId: string) =>
    (await ok(send("POST", shop.secretKey, `/v1/members/${memberId}/customer-tokens`, {}), 201)).token as string;
  /** A storefront call with the shop's publishable key and the shopper's token. */
  const me = (shop: TestShop, customerToken: string, method: Method, cartId: string, payload?: unknown) =>
    send(method, shop.publishableKey, `/v1/me/checkouts/${encodeURIComponent(cartId)}/points`, payload, {
      "x-laurel-customer-token": customerToken,
    });

  const event = (shop: TestShop, body: Json, status = 201) =>
    ok(send("POST", shop.secretKey, "/v1/events", body), status);
  const paid = (memberId: string, orderId: string, total: number, extra: Json = {}) => ({
    type: "order.paid",
    external_id: `order-${orderId}-paid`,
    member_id: memberId,
    order: { id: orderId, currency: "USD", total, ...extra },
  });
  const reservation = (shop: TestShop, id: string) => ok(send("GET", shop.secretKey, `/v1/points/reservations/${id}`));
  const transaction = (shop: TestShop, id: string) => ok(send("GET", shop.secretKey, `/v1/points/transactions/${id}`));

  async function count(
    shop: TestShop,
    table: "ledger_transactions" | "point_reservations" | "checkout_points" | "events" | "order_reward_outcomes",
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

  /** Everything a refused request must leave as it was: the member's points and the shop's rows. */
  async function snapshot(shop: TestShop, memberIds: string[]) {
    const balances = [];
    for (const id of memberIds) {
      const summary = await points(shop, id);
      balances.push({
        available: summary.available,
        reserved: summary.reserved,
        spent: summary.lifetime_spent,
      });
    }
    const rows = await t()
      .database.db.selectFrom("checkout_points")
      .selectAll()
      .where("shop_id", "=", shop.shop.id)
      .orderBy("cart_id")
      .execute();
    return {
      balances,
      checkouts: rows.map((row) => ({ ...row, points: Number(row.points), discount: Number(row.discount) })),
      transactions: await count(shop, "ledger_transactions"),
      reservations: await count(shop, "point_reservations"),
    };
  }

  async function expectCleanLedger(shop: TestShop) {
    expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
  }

  return {
    send,
    ok,
    problem,
    invalidField,
    invalid,
    member,
    credit,
    memberWith,
    points,
    patchShop,
    setRate,
    put,
    putOk,
    get,
    getOk,
    remove,
    commit,
    token,
    me,
    event,
    paid,
    reservation,
    transaction,
    count,
    snapshot,
    expectCleanLedger,
  };
}

describeEachDialect("points at checkout: holding points on a cart", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);
  beforeEach(() => t().clock.set(start));

  it("holds the points: available drops, reserved rises, and the discount is exact at the default rate", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", { member_id: memberId, points: 250, cart: cart(4200) });
    expect(held).toEqual({
      object: "checkout_points",
      cart_id: "cart-1",
      member_id: memberId,
      points: 250,
      discount: { amount: 250, currency: "USD" },
      status: "active",
      expires_at: new Date(Date.parse(start) + 30 * minute).toISOString(),
      order_id: null,
      reservation_id: held.reservation_id,
      replayed: false,
      created_at: start,
      updated_at: start,
    });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 750, reserved: 250, lifetime_spent: 0 });
    // The reservation behind it is the ledger's, for the cart.
    expect(await h.reservation(shop, held.reservation_id)).toMatchObject({
      member_id: memberId,
      amount: 250,
      status: "active",
      reference: "cart:cart-1",
    });
    const { replayed: _replayed, ...stored } = held;
    expect(await h.getOk(shop, "cart-1")).toEqual(stored);
    await h.expectCleanLedger(shop);
  });

  it("spends a cart's worth exactly: 1,000 points take $10.00 off a $10.00 cart, not a cent more", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 2000);
    const refused = await h.invalidField(
      h.put(shop, "cart-1", { member_id: memberId, points: 1000, cart: cart(999) }),
      ["/body/points"],
    );
    expect(refused.detail).toContain("1000 points are worth 1000 USD minor units, more than the cart total of 999");
    expect(await h.count(shop, "checkout_points")).toBe(0);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 2000, reserved: 0 });
    const held = await h.putOk(shop, "cart-1", { member_id: memberId, points: 1000, cart: cart(1000) });
    expect(held.discount).toEqual({ amount: 1000, currency: "USD" });
  });

  it("spends points in steps of the shop's rate: 3 points = 2 cents", async () => {
    const shop = await createShop(t());
    expect(await h.patchShop(shop, { redemption_rate: { points: 3, amount: 2 } })).toMatchObject({
      redemption_rate: { points: 3, amount: 2, currency: "USD", is_default: false },
    });
    const memberId = await h.memberWith(shop, 1000);
    for (const wrong of [1, 2, 301, 500]) {
      const refused = await h.invalidField(
        h.put(shop, `cart-${wrong}`, { member_id: memberId, points: wrong, cart: cart(10_000) }),
        ["/body/points"],
      );
      expect(refused.errors[0].message).toContain("must be a multiple of 3");
    }
    expect(await h.count(shop, "checkout_points")).toBe(0);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000, reserved: 0 });
    const three = await h.putOk(shop, "cart-a", { member_id: memberId, points: 3, cart: cart(10_000) });
    expect(three.discount).toEqual({ amount: 2, currency: "USD" });
    const many = await h.putOk(shop, "cart-b", { member_id: memberId, points: 996, cart: cart(10_000) });
    expect(many.discount).toEqual({ amount: 664, currency: "USD" });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1, reserved: 999 });
  });

  it("values points in yen (no minor units) and in dinars (three decimals) exactly", async () => {
    const yenShop = await createShop(t(), { baseCurrency: "JPY" });
    const yenMember = await h.memberWith(yenShop, 5000);
    // The default for a currency without minor units: 1 point = ¥1.
    const yen = await h.putOk(yenShop, "cart-1", { member_id: yenMember, points: 1234, cart: cart(5000, "JPY") });
    expect(yen.discount).toEqual({ amount: 1234, currency: "JPY" });
    await h.invalidField(h.put(yenShop, "cart-2", { member_id: yenMember, points: 1001, cart: cart(1000, "JPY") }), [
      "/body/points",
    ]);

    const dinarShop = await createShop(t(), { baseCurrency: "KWD" });
    const dinarMember = await h.memberWith(dinarShop, 5000);
    // 100 points = 1.000 KWD = 1,000 fils: every point is worth 10 fils.
    const dinar = await h.putOk(dinarShop, "cart-1", { member_id: dinarMember, points: 7, cart: cart(70, "KWD") });
    expect(dinar.discount).toEqual({ amount: 70, currency: "KWD" });
    const more = await h.putOk(dinarShop, "cart-2", {
      member_id: dinarMember,
      points: 1234,
      cart: cart(20_000, "KWD"),
    });
    expect(more.discount).toEqual({ amount: 12_340, currency: "KWD" });
    expect(await h.points(dinarShop, dinarMember)).toMatchObject({ available: 5000 - 7 - 1234, reserved: 1241 });
  });

  it("converts the discount into the cart's currency at the shop's exchange rate, rounded down", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 5000);
    await h.setRate(shop, "EUR", "1.1");
    // $10.00 at 1 EUR = 1.10 USD is €9.0909…: €9.09, never €9.10.
    const euros = await h.putOk(shop, "cart-eur", { member_id: memberId, points: 1000, cart: cart(5000, "EUR") });
    expect(euros.discount).toEqual({ amount: 909, currency: "EUR" });
    // The converted discount is what must fit the cart.
    await h.putOk(shop, "cart-eur-exact", { member_id: memberId, points: 1000, cart: cart(909, "EUR") });
    await h.invalidField(h.put(shop, "cart-eur-small", { member_id: memberId, points: 1000, cart: cart(908, "EUR") }), [
      "/body/points",
    ]);
    // Into a currency without minor units: $7.50 at 1 JPY = 0.0067 USD is ¥1,119.40…, so ¥1,119.
    await h.setRate(shop, "JPY", "0.0067");
    const yen = await h.putOk(shop, "cart-jpy", { member_id: memberId, points: 750, cart: cart(100_000, "JPY") });
    expect(yen.discount).toEqual({ amount: 1119, currency: "JPY" });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 5000 - 1000 - 1000 - 750, reserved: 2750 });
  });

  it("refuses a cart currency the shop has no exchange rate for, and holds nothing", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 5000);
    const refused = await h.invalidField(
      h.put(shop, "cart-gbp", { member_id: memberId, points: 100, cart: cart(5000, "GBP") }),
      ["/body/cart/currency"],
    );
    expect(refused.detail).toContain("GBP");
    expect(await h.snapshot(shop, [memberId])).toMatchObject({
      balances: [{ available: 5000, reserved: 0, spent: 0 }],
      checkouts: [],
      reservations: 0,
    });
    await h.problem(h.get(shop, "cart-gbp"), 404, "checkout_points_not_found");
  });

  it("refuses more points than the member has available (422 insufficient_points), changing nothing", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    await h.problem(
      h.put(shop, "cart-1", { member_id: memberId, points: 1001, cart: cart(100_000) }),
      422,
      "insufficient_points",
    );
    expect(await h.count(shop, "checkout_points")).toBe(0);
    expect(await h.count(shop, "point_reservations")).toBe(0);

    // With points already held: the bigger amount is refused and the first hold stays as it was.
    const held = await h.putOk(shop, "cart-1", { member_id: memberId, points: 600, cart: cart(100_000) });
    const before = await h.snapshot(shop, [memberId]);
    await h.problem(
      h.put(shop, "cart-1", { member_id: memberId, points: 1200, cart: cart(100_000) }),
      422,
      "insufficient_points",
    );
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({
      points: 600,
      status: "active",
      reservation_id: held.reservation_id,
    });
    expect(await h.reservation(shop, held.reservation_id)).toMatchObject({ status: "active", amount: 600 });
    await h.expectCleanLedger(shop);
  });

  it("answers the same points again as a replay and keeps one hold", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const first = await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000) });
    const before = await h.snapshot(shop, [memberId]);
    t().clock.advance(minute);
    // A page reload: even with another cart total the hold stays as it is.
    const again = await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(6000) });
    expect(again).toEqual({ ...first, replayed: true });
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    expect(before.reservations).toBe(1);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 600, reserved: 400 });
  });

  it("replaces the hold when other points are put on the cart: the old one released, the new one made", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const first = await h.putOk(shop, "cart-1", { member_id: memberId, points: 600, cart: cart(5000) });
    t().clock.advance(minute);
    // 900 fits only because the 600 held are given back first.
    const replaced = await h.putOk(shop, "cart-1", {
      member_id: memberId,
      points: 900,
      cart: cart(5000),
      hold_seconds: 120,
    });
    expect(replaced).toMatchObject({
      points: 900,
      discount: { amount: 900, currency: "USD" },
      status: "active",
      replayed: false,
      created_at: start,
      updated_at: t().clock.now().toISOString(),
      expires_at: new Date(t().clock.now().getTime() + 120 * second).toISOString(),
    });
    expect(replaced.reservation_id).not.toBe(first.reservation_id);
    expect(await h.reservation(shop, first.reservation_id)).toMatchObject({ status: "released" });
    expect(await h.reservation(shop, replaced.reservation_id)).toMatchObject({ status: "active", amount: 900 });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 100, reserved: 900, lifetime_spent: 0 });
    // Fewer points: 800 come back.
    const third = await h.putOk(shop, "cart-1", { member_id: memberId, points: 100, cart: cart(5000) });
    expect(await h.reservation(shop, replaced.reservation_id)).toMatchObject({ status: "released" });
    expect(third.reservation_id).not.toBe(replaced.reservation_id);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 900, reserved: 100 });
    expect(await h.count(shop, "checkout_points")).toBe(1);
    await h.expectCleanLedger(shop);
  });

  it("refuses another member's points on a cart that holds points (409 cart_taken) until they are released", async () => {
    const shop = await createShop(t());
    const ana = await h.memberWith(shop, 1000);
    const ben = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", { member_id: ana, points: 300, cart: cart(5000) });
    const before = await h.snapshot(shop, [ana, ben]);
    await h.problem(h.put(shop, "cart-1", { member_id: ben, points: 300, cart: cart(5000) }), 409, "cart_taken");
    await h.problem(h.put(shop, "cart-1", { member_id: ben, points: 200, cart: cart(5000) }), 409, "cart_taken");
    expect(await h.snapshot(shop, [ana, ben])).toEqual(before);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({ member_id: ana, reservation_id: held.reservation_id });

    // Once Ana takes hers off, the cart is free.
    await h.ok(h.remove(shop, "cart-1"));
    const taken = await h.putOk(shop, "cart-1", { member_id: ben, points: 200, cart: cart(5000) });
    expect(taken).toMatchObject({ member_id: ben, points: 200, status: "active", replayed: false });
    expect(await h.points(shop, ana)).toMatchObject({ available: 1000, reserved: 0 });
    expect(await h.points(shop, ben)).toMatchObject({ available: 800, reserved: 200 });
  });

  it("takes the points off the cart (DELETE): they are available again, and a second DELETE answers the same", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", { member_id: memberId, points: 450, cart: cart(5000) });
    t().clock.advance(minute);
    const released = await h.ok(h.remove(shop, "cart-1"));
    expect(released).toMatchObject({
      cart_id: "cart-1",
      member_id: memberId,
      points: 450,
      status: "released",
      order_id: null,
      reservation_id: held.reservation_id,
    });
    expect(released.replayed).toBeUndefined();
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000, reserved: 0, lifetime_spent: 0 });
    const before = await h.snapshot(shop, [memberId]);
    expect(await h.ok(h.remove(shop, "cart-1"))).toEqual(released);
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    expect(await h.getOk(shop, "cart-1")).toEqual(released);
    // A cart nothing was put on.
    await h.problem(h.remove(shop, "cart-none"), 404, "checkout_points_not_found");
    await h.expectCleanLedger(shop);
  });

  it("lets the hold run out after hold_seconds: the points are available again", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", {
      member_id: memberId,
      points: 700,
      cart: cart(5000),
      hold_seconds: 600,
    });
    expect(held.expires_at).toBe(new Date(Date.parse(start) + 600 * second).toISOString());
    t().clock.advance(600 * second - 1);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({ status: "active" });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 300, reserved: 700 });
    t().clock.advance(2);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({
      status: "expired",
      points: 700,
      order_id: null,
      reservation_id: held.reservation_id,
    });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000, reserved: 0, lifetime_spent: 0 });
    // Taking off points whose hold ran out changes nothing more.
    const before = await h.snapshot(shop, [memberId]);
    expect(await h.ok(h.remove(shop, "cart-1"))).toMatchObject({ status: "expired" });
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    // The cart can hold points again.
    const again = await h.putOk(shop, "cart-1", { member_id: memberId, points: 700, cart: cart(5000) });
    expect(again).toMatchObject({ status: "active", replayed: false });
    expect(again.reservation_id).not.toBe(held.reservation_id);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 300, reserved: 700 });
    await h.expectCleanLedger(shop);
  });

  it("expires the hold for the member's balance even when the cart itself is never read", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    await h.putOk(shop, "cart-1", { member_id: memberId, points: 700, cart: cart(5000), hold_seconds: 600 });
    t().clock.advance(10 * minute + 1);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000, reserved: 0 });
    expect(await h.getOk(shop, "cart-1")).toMatchObject({ status: "expired" });
  });
});

describeEachDialect("points at checkout: spending on the order", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);
  beforeEach(() => t().clock.set(start));

  it("commits the held points on the order; the same order again is a replay, another order 409", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000) });
    t().clock.advance(minute);
    const committed = await h.ok(h.commit(shop, "cart-1", "1001"));
    expect(committed).toMatchObject({
      cart_id: "cart-1",
      member_id: memberId,
      points: 400,
      discount: { amount: 400, currency: "USD" },
      status: "committed",
      order_id: "1001",
      reservation_id: held.reservation_id,
      replayed: false,
      updated_at: t().clock.now().toISOString(),
    });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 600, reserved: 0, lifetime_spent: 400 });
    const reservation = await h.reservation(shop, held.reservation_id);
    expect(reservation).toMatchObject({ status: "committed", committed_amount: 400 });
    expect(await h.transaction(shop, reservation.commit_transaction_id)).toMatchObject({
      type: "redeem",
      amount: 400,
      reference: "1001",
    });

    const before = await h.snapshot(shop, [memberId]);
    const again = await h.ok(h.commit(shop, "cart-1", "1001"));
    expect(again).toEqual({ ...committed, replayed: true });
    expect(await h.snapshot(shop, [memberId])).toEqual(before);

    const other = await h.problem(h.commit(shop, "cart-1", "1002"), 409, "reservation_not_active");
    expect(other.detail).toContain("1001");
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    // Spent points cannot be taken off or changed.
    await h.problem(h.remove(shop, "cart-1"), 409, "reservation_not_active");
    await h.problem(
      h.put(shop, "cart-1", { member_id: memberId, points: 100, cart: cart(5000) }),
      409,
      "reservation_not_active",
    );
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({ status: "committed", order_id: "1001" });
    await h.problem(h.commit(shop, "cart-none", "1001"), 404, "checkout_points_not_found");
    await h.expectCleanLedger(shop);
  });

  it("commits after the hold ran out by spending from the available balance when the member still has the points", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", {
      member_id: memberId,
      points: 400,
      cart: cart(5000),
      hold_seconds: 600,
    });
    t().clock.advance(11 * minute);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000, reserved: 0 });
    const committed = await h.ok(h.commit(shop, "cart-1", "1001"));
    expect(committed).toMatchObject({ order_id: "1001", points: 400, replayed: false });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 600, reserved: 0, lifetime_spent: 400 });
    // The hold itself stays run out: the points were spent by a debit of their own.
    expect(await h.reservation(shop, held.reservation_id)).toMatchObject({ status: "expired", committed_amount: 0 });
    const spends = await h.ok(h.send("GET", shop.secretKey, `/v1/members/${memberId}/points/transactions?type=redeem`));
    expect(spends.data).toEqual([expect.objectContaining({ type: "redeem", amount: 400, reference: "1001" })]);
    // The same order again is a replay and spends nothing more.
    const before = await h.snapshot(shop, [memberId]);
    expect(await h.ok(h.commit(shop, "cart-1", "1001"))).toMatchObject({ order_id: "1001", replayed: true });
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    await h.expectCleanLedger(shop);
  });

  it("reads a checkout whose points were spent after the hold ran out as committed", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000), hold_seconds: 600 });
    t().clock.advance(11 * minute);
    const committed = await h.ok(h.commit(shop, "cart-1", "1001"));
    // The documented status: "committed: spent on order_id". The points were spent on order 1001.
    expect(committed.status).toBe("committed");
    expect((await h.getOk(shop, "cart-1")).status).toBe("committed");
  });

  it("keeps points spent after the hold ran out on their order: the cart cannot be put on again", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000), hold_seconds: 600 });
    t().clock.advance(11 * minute);
    await h.ok(h.commit(shop, "cart-1", "1001"));
    const before = await h.snapshot(shop, [memberId]);
    // As for a hold committed in time: the points were spent on order 1001.
    await h.problem(
      h.put(shop, "cart-1", { member_id: memberId, points: 100, cart: cart(5000) }),
      409,
      "reservation_not_active",
    );
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({ order_id: "1001", points: 400 });
  });

  it("refuses to commit a hold that ran out when the member no longer has the points (422), changing nothing", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000), hold_seconds: 600 });
    t().clock.advance(11 * minute);
    // The member spent the points elsewhere meanwhile.
    await h.credit(shop, memberId, -700);
    const before = await h.snapshot(shop, [memberId]);
    await h.problem(h.commit(shop, "cart-1", "1001"), 422, "insufficient_points");
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({ status: "expired", order_id: null });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 300, lifetime_spent: 0 });
  });

  it("commits the points on order.paid with order.cart_id, and the event's explanation says so", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000) });
    t().clock.advance(minute);
    const event = await h.event(shop, h.paid(memberId, "1001", 4600, { cart_id: "cart-1" }));
    expect(event).toMatchObject({ status: "processed", member_id: memberId, order_id: "1001" });
    expect(event.explanation.notes).toEqual(["400 points held for cart cart-1 spent on order 1001"]);
    const fetched = await h.ok(h.send("GET", shop.secretKey, `/v1/events/${event.id}`));
    expect(fetched.explanation.notes).toEqual(event.explanation.notes);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({
      status: "committed",
      order_id: "1001",
      reservation_id: held.reservation_id,
    });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 600, reserved: 0, lifetime_spent: 400 });

    // The same event again is a duplicate and spends nothing more.
    const before = await h.snapshot(shop, [memberId]);
    const again = await h.event(shop, h.paid(memberId, "1001", 4600, { cart_id: "cart-1" }), 200);
    expect(again).toMatchObject({ id: event.id, duplicate: true });
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    // Committing by hand for the same order afterwards is a replay.
    expect(await h.ok(h.commit(shop, "cart-1", "1001"))).toMatchObject({ status: "committed", replayed: true });
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    await h.expectCleanLedger(shop);
  });

  it("notes on order.paid that a hold which ran out was spent from the available balance", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000), hold_seconds: 600 });
    t().clock.advance(11 * minute);
    const event = await h.event(shop, h.paid(memberId, "1001", 4600, { cart_id: "cart-1" }));
    expect(event.status).toBe("processed");
    expect(event.explanation.notes).toEqual([
      "the hold on cart cart-1 had run out; 400 points spent from the available balance",
    ]);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 600, lifetime_spent: 400 });
  });

  it("does not refuse order.paid when the points on the cart can no longer be spent: it notes why", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000), hold_seconds: 600 });
    t().clock.advance(11 * minute);
    await h.credit(shop, memberId, -700);
    const transactions = await h.count(shop, "ledger_transactions");
    const event = await h.event(shop, h.paid(memberId, "1001", 4600, { cart_id: "cart-1" }));
    expect(event.status).toBe("processed");
    expect(event.explanation.notes).toHaveLength(1);
    expect(event.explanation.notes[0]).toMatch(/^points on cart cart-1: /);
    expect(await h.count(shop, "ledger_transactions")).toBe(transactions);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({ order_id: null, status: "expired" });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 300, lifetime_spent: 0 });
  });

  it("leaves an order.paid for a cart without points, and other carts' points, as they are", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", { member_id: memberId, points: 400, cart: cart(5000) });
    const before = await h.snapshot(shop, [memberId]);
    const event = await h.event(shop, h.paid(memberId, "2001", 3000, { cart_id: "cart-empty" }));
    expect(event).toMatchObject({ status: "processed", points: 0 });
    expect(event.explanation.notes).toEqual([]);
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    await h.problem(h.get(shop, "cart-empty"), 404, "checkout_points_not_found");
    expect(await h.getOk(shop, "cart-1")).toMatchObject({
      status: "active",
      order_id: null,
      reservation_id: held.reservation_id,
    });
    // An order without a cart id does not touch held points either.
    await h.event(shop, h.paid(memberId, "2002", 3000));
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
  });
});

describeEachDialect("points at checkout: the storefront", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);
  beforeEach(() => t().clock.set(start));

  it("lets the shopper put points on their cart, read them and take them off with their customer token", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const token = await h.token(shop, memberId);
    const held = await h.ok(h.me(shop, token, "PUT", "cart-1", { points: 300, cart: cart(5000) }));
    expect(held).toMatchObject({
      object: "checkout_points",
      cart_id: "cart-1",
      member_id: memberId,
      points: 300,
      discount: { amount: 300, currency: "USD" },
      status: "active",
      replayed: false,
    });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 700, reserved: 300 });
    const again = await h.ok(h.me(shop, token, "PUT", "cart-1", { points: 300, cart: cart(5000) }));
    expect(again).toMatchObject({ replayed: true, reservation_id: held.reservation_id });
    const { replayed: _replayed, ...stored } = held;
    expect(await h.ok(h.me(shop, token, "GET", "cart-1"))).toEqual(stored);
    // The platform sees the same cart.
    expect(await h.getOk(shop, "cart-1")).toEqual(stored);
    const released = await h.ok(h.me(shop, token, "DELETE", "cart-1"));
    expect(released).toMatchObject({ status: "released", reservation_id: held.reservation_id });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000, reserved: 0 });
    // 422 insufficient_points as on the platform's route.
    await h.problem(h.me(shop, token, "PUT", "cart-1", { points: 1001, cart: cart(5000) }), 422, "insufficient_points");
  });

  it("hides another member's cart from the shopper (404) and lets them change nothing on it", async () => {
    const shop = await createShop(t());
    const ana = await h.memberWith(shop, 1000);
    const ben = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-ana", { member_id: ana, points: 300, cart: cart(5000) });
    const benToken = await h.token(shop, ben);
    const before = await h.snapshot(shop, [ana, ben]);
    await h.problem(h.me(shop, benToken, "GET", "cart-ana"), 404, "checkout_points_not_found");
    await h.problem(h.me(shop, benToken, "DELETE", "cart-ana"), 404, "checkout_points_not_found");
    await h.problem(h.me(shop, benToken, "PUT", "cart-ana", { points: 100, cart: cart(5000) }), 409, "cart_taken");
    expect(await h.snapshot(shop, [ana, ben])).toEqual(before);
    expect(await h.getOk(shop, "cart-ana")).toMatchObject({
      member_id: ana,
      status: "active",
      reservation_id: held.reservation_id,
    });
    // A cart with nothing on it is 404 too.
    await h.problem(h.me(shop, benToken, "GET", "cart-none"), 404, "checkout_points_not_found");
  });

  it("requires the customer token; a member id in the body is not accepted", async () => {
    const shop = await createShop(t());
    const ana = await h.memberWith(shop, 1000);
    const ben = await h.memberWith(shop, 1000);
    const anaToken = await h.token(shop, ana);
    const url = "/v1/me/checkouts/cart-1/points";
    await h.problem(
      h.send("PUT", shop.publishableKey, url, { points: 100, cart: cart(5000) }),
      401,
      "customer_token_required",
    );
    await h.problem(h.send("GET", shop.publishableKey, url), 401, "customer_token_required");
    // Another shop's token does not open this shop's cart.
    const other = await createShop(t());
    const stranger = await h.token(other, await h.memberWith(other, 1000));
    await h.problem(
      h.me(shop, stranger, "PUT", "cart-1", { points: 100, cart: cart(5000) }),
      401,
      "invalid_customer_token",
    );
    expect(
      await h.invalid(h.me(shop, anaToken, "PUT", "cart-1", { member_id: ben, points: 100, cart: cart(5000) })),
    ).toEqual(["/body/member_id"]);
    // The publishable key does not open the platform's routes.
    const platform = await h.put(
      shop,
      "cart-1",
      { member_id: ana, points: 100, cart: cart(5000) },
      shop.publishableKey,
    );
    expect(platform.statusCode).toBe(403);
    expect(await h.count(shop, "checkout_points")).toBe(0);
    expect(await h.points(shop, ben)).toMatchObject({ available: 1000, reserved: 0 });
  });
});

describeEachDialect("points at checkout: shops and bad input", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);
  beforeEach(() => t().clock.set(start));

  it("keeps each shop's carts to itself: another shop's key finds nothing and changes nothing", async () => {
    const shop = await createShop(t());
    const other = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const held = await h.putOk(shop, "cart-1", { member_id: memberId, points: 300, cart: cart(5000) });
    const before = await h.snapshot(shop, [memberId]);
    await h.problem(h.get(shop, "cart-1", other.secretKey), 404, "checkout_points_not_found");
    await h.problem(h.remove(shop, "cart-1", other.secretKey), 404, "checkout_points_not_found");
    await h.problem(h.commit(shop, "cart-1", "1001", other.secretKey), 404, "checkout_points_not_found");
    await h.problem(
      h.put(shop, "cart-1", { member_id: memberId, points: 100, cart: cart(5000) }, other.secretKey),
      404,
      "member_not_found",
    );
    await h.problem(
      h.put(shop, "cart-2", { member_id: memberId, points: 100, cart: cart(5000) }, other.secretKey),
      404,
      "member_not_found",
    );
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    expect(await h.getOk(shop, "cart-1")).toMatchObject({
      status: "active",
      order_id: null,
      reservation_id: held.reservation_id,
    });
    expect(await h.count(other, "checkout_points")).toBe(0);
    expect(await h.count(other, "point_reservations")).toBe(0);

    // The other shop's own cart with the same id is its own.
    const otherMember = await h.memberWith(other, 500);
    const theirs = await h.putOk(other, "cart-1", { member_id: otherMember, points: 200, cart: cart(5000) });
    expect(theirs).toMatchObject({ member_id: otherMember, replayed: false });
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
    // An order.paid of the other shop for that cart id spends only the other shop's points.
    await h.event(other, h.paid(otherMember, "1001", 3000, { cart_id: "cart-1" }));
    expect(await h.getOk(other, "cart-1")).toMatchObject({ status: "committed", order_id: "1001" });
    expect(await h.getOk(shop, "cart-1")).toMatchObject({ status: "active", order_id: null });
    expect(await h.snapshot(shop, [memberId])).toEqual(before);
  });

  it("refuses a member who is not in the shop, and a suspended member", async () => {
    const shop = await createShop(t());
    await h.problem(
      h.put(shop, "cart-1", { member_id: "mem_01JD3M8Q6V9KX2T4R7B5N0CZHE", points: 100, cart: cart(5000) }),
      404,
      "member_not_found",
    );
    const memberId = await h.memberWith(shop, 1000);
    await h.ok(h.send("PATCH", shop.secretKey, `/v1/members/${memberId}`, { status: "suspended" }));
    await h.problem(
      h.put(shop, "cart-1", { member_id: memberId, points: 100, cart: cart(5000) }),
      409,
      "reward_unavailable",
    );
    expect(await h.count(shop, "checkout_points")).toBe(0);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000, reserved: 0 });
  });

  it("refuses bad input with 400 problem+json and a pointer per field, storing nothing", async () => {
    const shop = await createShop(t());
    const memberId = await h.memberWith(shop, 1000);
    const good = { member_id: memberId, points: 100, cart: cart(5000) };
    const cases: Array<[Json, string[]]> = [
      [{ points: 100, cart: cart(5000) }, ["/body/member_id"]],
      [{ member_id: memberId, cart: cart(5000) }, ["/body/points"]],
      [{ member_id: memberId, points: 100 }, ["/body/cart"]],
      [{ ...good, points: 0 }, ["/body/points"]],
      [{ ...good, points: -5 }, ["/body/points"]],
      [{ ...good, points: 1.5 }, ["/body/points"]],
      [{ ...good, points: "100" }, ["/body/points"]],
      [{ ...good, hold_seconds: 59 }, ["/body/hold_seconds"]],
      [{ ...good, hold_seconds: 24 * 60 * 60 + 1 }, ["/body/hold_seconds"]],
      [{ ...good, cart: cart(5000, "usd") }, ["/body/cart/currency"]],
      [{ ...good, cart: cart(5000, "US") }, ["/body/cart/currency"]],
      [{ ...good, cart: cart(-1) }, ["/body/cart/total"]],
      [{ ...good, cart: { currency: "USD" } }, ["/body/cart/total"]],
      [{ ...good, extra: true }, ["/body/extra"]],
    ];
    for (const [body, pointers] of cases) {
      const found = await h.invalid(h.put(shop, "cart-1", body));
      expect(found, JSON.stringify(body)).toEqual(pointers);
    }
    expect(await h.invalid(h.commit(shop, "cart-1", ""))).toEqual(["/body/order_id"]);
    expect(await h.invalid(h.send("POST", shop.secretKey, "/v1/checkouts/cart-1/points/commit", {}))).toEqual([
      "/body/order_id",
    ]);
    const tooLong = await h.send("GET", shop.secretKey, `/v1/checkouts/${"x".repeat(201)}/points`);
    expect(tooLong.statusCode).toBe(400);
    // The limits themselves are accepted.
    await h.putOk(shop, "cart-min", { ...good, hold_seconds: 60 });
    await h.putOk(shop, "cart-max", { ...good, hold_seconds: 24 * 60 * 60 });
    expect(await h.count(shop, "checkout_points")).toBe(2);
    await h.problem(h.get(shop, "cart-1"), 404, "checkout_points_not_found");
    expect(await h.points(shop, memberId)).toMatchObject({ available: 800, reserved: 200 });
  });
});
