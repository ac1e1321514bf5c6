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
import { apiCalls, type Json } from "../../../test/support/http.js";

const minute = 60 * 1000;
const day = 24 * 60 * minute;

const usd = (amount: number) => ({ amount, currency: "USD" });
const jpy = (amount: number) => ({ amount, currency: "JPY" });
const kwd = (amount: number) => ({ amount, currency: "KWD" });
const cart = (total: number, currency = "USD") => ({ total, currency });

function harness(t: () => TestApp) {
  const { ok, problem } = apiCalls(t);
  function post(key: string, url: string, payload: unknown): Promise<LightMyRequestResponse> {
    return t().app.inject({ method: "POST", url, headers: bearer(key), payload: payload as object });
  }
  function get(key: string, url: string): Promise<LightMyRequestResponse> {
    return t().app.inject({ method: "GET", url, headers: bearer(key) });
  }
  const member = async (shop: TestShop) => (await ok(post(shop.secretKey, "/v1/members", {}), 201)).id as string;
  const credit = (shop: TestShop, memberId: string, amount: number) =>
    ok(post(shop.secretKey, `/v1/members/${memberId}/points/adjustments`, { amount, reason: "Test" }), 201);
  const points = async (shop: TestShop, memberId: string) =>
    (await ok(get(shop.secretKey, `/v1/members/${memberId}/points`))).available as number;
  /** A reward of these settings (100 points, fixed, unless given), redeemed by the member: its redemption. */
  async function issue(shop: TestShop, memberId: string, reward: Json, redeem: Json = {}): Promise<Json> {
    const created = await ok(
      post(shop.secretKey, "/v1/rewards", { name: { en: "Test" }, cost: { type: "fixed", points: 100 }, ...reward }),
      201,
    );
    return ok(post(shop.secretKey, `/v1/members/${memberId}/redemptions`, { reward_id: created.id, ...redeem }), 201);
  }
  const validate = (shop: TestShop, body: Json) => post(shop.secretKey, "/v1/codes/validate", body);
  const check = (shop: TestShop, code: string, total: number, currency = "USD", extra: Json = {}) =>
    ok(validate(shop, { code, cart: cart(total, currency), ...extra }));
  const consume = (shop: TestShop, code: string, orderId: string, total = 10_000, currency = "USD", extra = {}) =>
    post(shop.secretKey, "/v1/codes/consume", { code, order_id: orderId, cart: cart(total, currency), ...extra });
  const release = (shop: TestShop, code: string, orderId: string) =>
    post(shop.secretKey, "/v1/codes/release", { code, order_id: orderId });
  const redemption = (shop: TestShop, id: string) => ok(get(shop.secretKey, `/v1/redemptions/${id}`));
  const now = () => t().clock.now().toISOString();
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
  /** A shop and a member with plenty of points. */
  async function setup() {
    const shop = await createShop(t());
    const memberId = await member(shop);
    await credit(shop, memberId, 1_000_000);
    return { shop, memberId };
  }
  return {
    post,
    get,
    ok,
    problem,
    member,
    credit,
    points,
    issue,
    validate,
    check,
    consume,
    release,
    redemption,
    now,
    outbox,
    setup,
  };
}

describeEachDialect("reward codes at checkout", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);

  it("takes an amount off, never more than the cart, in the cart's currency only", async () => {
    const { shop, memberId } = await h.setup();
    const issued = await h.issue(shop, memberId, {
      type: "amount_off",
      value: { amounts: [usd(500), jpy(700), kwd(1500)] },
      code: { prefix: "OFF-", expires_in_days: 30 },
    });
    const checked = await h.check(shop, issued.code, 10_000);
    expect(checked).toEqual({
      object: "code_check",
      code: issued.code,
      redemption_id: issued.id,
      member_id: memberId,
      status: "issued",
      applies: true,
      reason: null,
      type: "amount_off",
      discount: usd(500),
      free_shipping: null,
      free_product: null,
      instructions: null,
      expires_at: issued.code_expires_at,
      order_id: null,
      replayed: false,
    });
    expect((await h.check(shop, issued.code, 300)).discount).toEqual(usd(300));
    expect((await h.check(shop, issued.code, 0)).discount).toEqual(usd(0));
    expect((await h.check(shop, issued.code, 5000, "JPY")).discount).toEqual(jpy(700));
    expect((await h.check(shop, issued.code, 699, "JPY")).discount).toEqual(jpy(699));
    expect((await h.check(shop, issued.code, 1000, "KWD")).discount).toEqual(kwd(1000));
    expect((await h.check(shop, issued.code, 20_000, "KWD")).discount).toEqual(kwd(1500));
    const euros = await h.check(shop, issued.code, 10_000, "EUR");
    expect(euros).toMatchObject({ applies: false, discount: null });
    expect(euros.reason).toMatch(/EUR/);

    // A variable price fixed the amount when it was redeemed.
    const variable = await h.issue(
      shop,
      memberId,
      {
        type: "amount_off",
        value: {},
        cost: {
          type: "variable",
          points_per_unit: 100,
          unit: kwd(1000),
          min_points: 100,
          max_points: 1000,
          step_points: 50,
        },
      },
      { points: 350 },
    );
    expect((await h.check(shop, variable.code, 10_000, "KWD")).discount).toEqual(kwd(3500));
    expect((await h.check(shop, variable.code, 3499, "KWD")).discount).toEqual(kwd(3499));
    expect((await h.check(shop, variable.code, 10_000, "USD")).applies).toBe(false);
  });

  it("takes a percent off, rounded down and capped by the maximum in that currency", async () => {
    const { shop, memberId } = await h.setup();
    const capped = await h.issue(shop, memberId, {
      type: "percent_off",
      value: { percent: 15, max_amounts: [usd(2000), jpy(3000)] },
    });
    // 15% of $99.99 is $14.9985: $14.99.
    expect((await h.check(shop, capped.code, 9999)).discount).toEqual(usd(1499));
    expect((await h.check(shop, capped.code, 13_333)).discount).toEqual(usd(1999));
    expect((await h.check(shop, capped.code, 100_000)).discount).toEqual(usd(2000));
    expect((await h.check(shop, capped.code, 6)).discount).toEqual(usd(0));
    // 15% of ¥1,999 is ¥299.85: ¥299.
    expect((await h.check(shop, capped.code, 1999, "JPY")).discount).toEqual(jpy(299));
    expect((await h.check(shop, capped.code, 30_000, "JPY")).discount).toEqual(jpy(3000));
    const unnamed = await h.check(shop, capped.code, 10_000, "KWD");
    expect(unnamed).toMatchObject({ applies: false, discount: null });
    expect(unnamed.reason).toMatch(/KWD/);

    const uncapped = await h.issue(shop, memberId, { type: "percent_off", value: { percent: 33 } });
    // 33% of 1.001 KWD is 0.33033 KWD: 330 fils.
    expect((await h.check(shop, uncapped.code, 1001, "KWD")).discount).toEqual(kwd(330));
    expect((await h.check(shop, uncapped.code, 9_007_199_254_740_991, "JPY")).discount).toEqual(
      jpy(2_972_375_754_064_527),
    );
    const whole = await h.issue(shop, memberId, { type: "percent_off", value: { percent: 100 } });
    expect((await h.check(shop, whole.code, 4321)).discount).toEqual(usd(4321));
  });

  it("applies only from the minimum order in the cart's currency", async () => {
    const { shop, memberId } = await h.setup();
    const issued = await h.issue(shop, memberId, {
      type: "amount_off",
      value: { amounts: [usd(500), jpy(500)] },
      min_order: [usd(2500), jpy(3000)],
    });
    const below = await h.check(shop, issued.code, 2499);
    expect(below).toMatchObject({ applies: false, discount: null });
    expect(below.reason).toMatch(/minimum/);
    expect(await h.check(shop, issued.code, 2500)).toMatchObject({ applies: true, discount: usd(500) });
    expect((await h.check(shop, issued.code, 2999, "JPY")).applies).toBe(false);
    expect(await h.check(shop, issued.code, 3000, "JPY")).toMatchObject({ applies: true, discount: jpy(500) });
    const kuwaiti = await h.check(shop, issued.code, 1_000_000, "KWD");
    expect(kuwaiti.applies).toBe(false);
    expect(kuwaiti.reason).toMatch(/KWD/);
    // Not applicable: consuming it is refused and leaves it unused.
    const refused = await h.problem(h.consume(shop, issued.code, "order-small", 2499), 422, "invalid_field_value");
    expect(refused.errors).toEqual([{ pointer: "/body/code", message: expect.stringMatching(/minimum/) }]);
    expect(await h.redemption(shop, issued.id)).toMatchObject({ status: "issued", order_id: null });
    expect(await h.outbox(shop, "code.consumed")).toEqual([]);
  });

  it("answers free shipping, a free product and custom instructions", async () => {
    const { shop, memberId } = await h.setup();
    const shipping = await h.issue(shop, memberId, { type: "free_shipping", value: { max_amounts: [usd(1500)] } });
    expect(await h.check(shop, shipping.code, 100)).toMatchObject({
      applies: true,
      type: "free_shipping",
      discount: null,
      free_shipping: { max_amount: usd(1500) },
    });
    expect((await h.check(shop, shipping.code, 100, "EUR")).applies).toBe(false);
    const anyShipping = await h.issue(shop, memberId, { type: "free_shipping", value: {} });
    expect(await h.check(shop, anyShipping.code, 100, "EUR")).toMatchObject({
      applies: true,
      free_shipping: { max_amount: null },
    });
    const product = await h.issue(shop, memberId, {
      type: "free_product",
      value: { variant_id: "variant-9", product_id: "product-3" },
      min_order: [usd(1000)],
    });
    expect(await h.check(shop, product.code, 1000)).toMatchObject({
      applies: true,
      type: "free_product",
      free_product: { variant_id: "variant-9", product_id: "product-3" },
      discount: null,
    });
    expect((await h.check(shop, product.code, 999)).applies).toBe(false);
    const custom = await h.issue(shop, memberId, { type: "custom", value: { instructions: "Add a handwritten card" } });
    expect(await h.check(shop, custom.code, 1, "JPY")).toMatchObject({
      applies: true,
      type: "custom",
      instructions: "Add a handwritten card",
    });
  });

  it("finds a code whatever its case and surrounding spaces; an unknown code is 404", async () => {
    const { shop, memberId } = await h.setup();
    const issued = await h.issue(shop, memberId, {
      type: "amount_off",
      value: { amounts: [usd(500)] },
      code: { prefix: "VIP-" },
    });
    for (const typed of [issued.code.toLowerCase(), `  ${issued.code}  `, ` ${issued.code.toLowerCase()}\t`]) {
      expect(await h.check(shop, typed, 1000)).toMatchObject({ code: issued.code, applies: true });
    }
    const unknown = await h.problem(
      h.validate(shop, { code: "VIP-AAAA-BBBB-CCCC", cart: cart(1000) }),
      404,
      "code_not_found",
    );
    expect(unknown.errors).toEqual([{ pointer: "/body/code", message: expect.any(String) }]);
    await h.problem(h.consume(shop, "VIP-AAAA-BBBB-CCCC", "o1"), 404, "code_not_found");
    await h.problem(h.release(shop, "VIP-AAAA-BBBB-CCCC", "o1"), 404, "code_not_found");
    // Store credit has no code to find.
    await h.problem(h.validate(shop, { code: "null", cart: cart(1000) }), 404, "code_not_found");

    // Consuming it typed differently uses the one code.
    const used = await h.ok(h.consume(shop, ` ${issued.code.toLowerCase()} `, "order-case"));
    expect(used).toMatchObject({ code: issued.code, status: "used", order_id: "order-case" });

    const invalidBodies: Array<[string, Json, string[]]> = [
      ["no fields", {}, ["/body/cart", "/body/code"]],
      ["an empty code", { code: "", cart: cart(1) }, ["/body/code"]],
      ["a negative total", { code: issued.code, cart: cart(-1) }, ["/body/cart/total"]],
      ["a fractional total", { code: issued.code, cart: cart(10.5) }, ["/body/cart/total"]],
      ["a total as text", { code: issued.code, cart: { total: "100", currency: "USD" } }, ["/body/cart/total"]],
      ["a lowercase currency", { code: issued.code, cart: cart(100, "usd") }, ["/body/cart/currency"]],
      ["an unknown field", { code: issued.code, cart: cart(100), coupon: "x" }, ["/body/coupon"]],
      ["an unknown cart field", { code: issued.code, cart: { ...cart(100), items: [] } }, ["/body/cart/items"]],
    ];
    for (const [label, body, pointers] of invalidBodies) {
      const refused = await h.problem(h.validate(shop, body), 400, "validation_failed");
      expect([...new Set((refused.errors as Json[]).map((error) => error.pointer))].sort(), label).toEqual(pointers);
    }
    const noOrder = await h.problem(
      h.post(shop.secretKey, "/v1/codes/consume", { code: issued.code, cart: cart(100) }),
      400,
      "validation_failed",
    );
    expect(noOrder.errors).toEqual([{ pointer: "/body/order_id", message: "is required" }]);
    await h.problem(
      h.post(shop.secretKey, "/v1/codes/release", { code: issued.code, order_id: "" }),
      400,
      "validation_failed",
    );
  });

  it("refuses an expired code, a cancelled one and another member's", async () => {
    const { shop, memberId } = await h.setup();
    const expiring = await h.issue(shop, memberId, {
      type: "amount_off",
      value: { amounts: [usd(500)] },
      code: { expires_in_days: 1 },
    });
    const lasting = await h.issue(shop, memberId, {
      type: "amount_off",
      value: { amounts: [usd(500)] },
      code: { expires_in_days: null },
    });
    expect(expiring.code_expires_at).toBe(new Date(t().clock.now().getTime() + day).toISOString());
    t().clock.advance(day - 1);
    expect((await h.check(shop, expiring.code, 1000)).applies).toBe(true);
    t().clock.advance(1);
    const expired = await h.check(shop, expiring.code, 1000);
    expect(expired).toMatchObject({ applies: false, discount: null, status: "issued" });
    expect(expired.reason).toMatch(/expired/);
    await h.problem(h.consume(shop, expiring.code, "order-late"), 422, "invalid_field_value");
    expect(await h.redemption(shop, expiring.id)).toMatchObject({ status: "issued" });
    // A code without expiry still applies years later.
    t().clock.advance(4000 * day);
    expect((await h.check(shop, lasting.code, 1000)).applies).toBe(true);

    const cancelled = await h.issue(shop, memberId, { type: "amount_off", value: { amounts: [usd(500)] } });
    await h.ok(h.post(shop.secretKey, `/v1/redemptions/${cancelled.id}/cancel`, { reason: "Test" }));
    const afterCancel = await h.check(shop, cancelled.code, 1000);
    expect(afterCancel).toMatchObject({ applies: false, status: "cancelled" });
    expect(afterCancel.reason).toMatch(/cancelled/);
    await h.problem(h.consume(shop, cancelled.code, "order-c"), 422, "invalid_field_value");

    const otherId = await h.member(shop);
    const mine = await h.issue(shop, memberId, { type: "amount_off", value: { amounts: [usd(500)] } });
    expect(await h.check(shop, mine.code, 1000, "USD", { member_id: memberId })).toMatchObject({ applies: true });
    const theirs = await h.check(shop, mine.code, 1000, "USD", { member_id: otherId });
    expect(theirs).toMatchObject({ applies: false, discount: null });
    expect(theirs.reason).toMatch(/another member/);
    await h.problem(
      h.consume(shop, mine.code, "order-m", 1000, "USD", { member_id: otherId }),
      422,
      "invalid_field_value",
    );
    expect(await h.ok(h.consume(shop, mine.code, "order-m", 1000, "USD", { member_id: memberId }))).toMatchObject({
      applies: true,
      status: "used",
    });
  });

  it("uses a code once: the same order again is a replay, another order is 409", async () => {
    const { shop, memberId } = await h.setup();
    const issued = await h.issue(shop, memberId, {
      type: "amount_off",
      value: { amounts: [usd(500)] },
      code: { expires_in_days: 2 },
    });
    t().clock.advance(minute);
    const used = await h.ok(h.consume(shop, issued.code, "order-1001", 4000));
    expect(used).toEqual({
      object: "code_check",
      code: issued.code,
      redemption_id: issued.id,
      member_id: memberId,
      status: "used",
      applies: true,
      reason: null,
      type: "amount_off",
      discount: usd(500),
      free_shipping: null,
      free_product: null,
      instructions: null,
      expires_at: issued.code_expires_at,
      order_id: "order-1001",
      replayed: false,
    });
    expect(await h.redemption(shop, issued.id)).toMatchObject({
      status: "used",
      order_id: "order-1001",
      used_at: h.now(),
    });
    const events = await h.outbox(shop, "code.consumed");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      data: {
        member_id: memberId,
        redemption_id: issued.id,
        code: issued.code,
        order_id: "order-1001",
        discount: usd(500),
      },
    });

    const validated = await h.check(shop, issued.code, 4000);
    expect(validated).toMatchObject({ applies: false, status: "used", order_id: "order-1001" });
    expect(validated.reason).toMatch(/order-1001/);

    t().clock.advance(minute);
    const replay = await h.ok(h.consume(shop, issued.code, "order-1001", 4000));
    expect(replay).toEqual({ ...used, replayed: true });
    const conflict = await h.problem(h.consume(shop, issued.code, "order-2002", 4000), 409, "code_already_used");
    expect(conflict.detail).toContain("order-1001");
    expect(await h.redemption(shop, issued.id)).toMatchObject({ order_id: "order-1001" });
    expect(await h.outbox(shop, "code.consumed")).toHaveLength(1);

    // A retry after the code's expiry still answers as the first time: the code was used in time.
    t().clock.advance(2 * day);
    expect(await h.ok(h.consume(shop, issued.code, "order-1001", 4000))).toEqual({ ...used, replayed: true });
    expect(await h.outbox(shop, "code.consumed")).toHaveLength(1);
  });

  it("lets exactly one of 20 concurrent orders use a code", async () => {
    const { shop, memberId } = await h.setup();
    const issued = await h.issue(shop, memberId, { type: "amount_off", value: { amounts: [usd(500)] } });
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) => h.consume(shop, issued.code, `order-${index}`)),
    );
    const winners = responses.filter((response) => response.statusCode === 200);
    expect(winners).toHaveLength(1);
    const losers = responses.filter((response) => response.statusCode !== 200);
    expect(losers).toHaveLength(19);
    for (const response of losers) {
      expect(response.statusCode, response.body).toBe(409);
      expect(response.json().code).toBe("code_already_used");
    }
    const winner = winners[0]?.json() as Json;
    expect(winner).toMatchObject({ status: "used", replayed: false });
    expect(await h.redemption(shop, issued.id)).toMatchObject({ status: "used", order_id: winner.order_id });
    expect(await h.outbox(shop, "code.consumed")).toHaveLength(1);

    // The same order sent ten times at once: one use, nine replays.
    const again = await h.issue(shop, memberId, { type: "amount_off", value: { amounts: [usd(500)] } });
    const retries = await Promise.all(Array.from({ length: 10 }, () => h.consume(shop, again.code, "order-retry")));
    for (const response of retries) expect(response.statusCode, response.body).toBe(200);
    expect(retries.filter((response) => response.json().replayed === false)).toHaveLength(1);
    expect(await h.outbox(shop, "code.consumed")).toHaveLength(2);
  });

  it("releases a code from its order so another order can use it", async () => {
    const { shop, memberId } = await h.setup();
    const issued = await h.issue(shop, memberId, { type: "amount_off", value: { amounts: [usd(500)] } });
    // Releasing an unused code answers with it as it is.
    expect(await h.ok(h.release(shop, issued.code, "order-none"))).toMatchObject({ status: "issued", order_id: null });

    await h.ok(h.consume(shop, issued.code, "order-a"));
    const wrong = await h.problem(h.release(shop, issued.code, "order-b"), 409, "code_already_used");
    expect(wrong.detail).toContain("order-a");
    expect(await h.redemption(shop, issued.id)).toMatchObject({ status: "used", order_id: "order-a" });

    t().clock.advance(minute);
    const released = await h.ok(h.release(shop, ` ${issued.code.toLowerCase()}`, "order-a"));
    expect(released).toMatchObject({
      object: "redemption",
      id: issued.id,
      status: "issued",
      order_id: null,
      used_at: null,
    });
    const { shopify_discount: _platform, ...stored } = await h.redemption(shop, issued.id);
    expect(stored).toEqual(released);
    expect((await h.check(shop, issued.code, 1000)).applies).toBe(true);

    const reused = await h.ok(h.consume(shop, issued.code, "order-b"));
    expect(reused).toMatchObject({ status: "used", order_id: "order-b", replayed: false });
    await h.problem(h.consume(shop, issued.code, "order-a"), 409, "code_already_used");
    expect(await h.outbox(shop, "code.consumed")).toHaveLength(2);

    // A cancelled code cannot be released.
    const cancelled = await h.issue(shop, memberId, { type: "amount_off", value: { amounts: [usd(500)] } });
    await h.ok(h.post(shop.secretKey, `/v1/redemptions/${cancelled.id}/cancel`, { reason: "Test" }));
    await h.problem(h.release(shop, cancelled.code, "order-a"), 409, "code_already_used");
    expect(await h.redemption(shop, cancelled.id)).toMatchObject({ status: "cancelled" });
  });

  it("never both cancels and uses a code when the two race", async () => {
    const { shop, memberId } = await h.setup();
    const start = await h.points(shop, memberId);
    const codes: Json[] = [];
    const created = await h.ok(
      h.post(shop.secretKey, "/v1/rewards", {
        type: "amount_off",
        name: { en: "Race" },
        value: { amounts: [usd(500)] },
        cost: { type: "fixed", points: 100 },
      }),
      201,
    );
    for (let index = 0; index < 20; index++) {
      codes.push(
        await h.ok(h.post(shop.secretKey, `/v1/members/${memberId}/redemptions`, { reward_id: created.id }), 201),
      );
    }
    const outcomes = await Promise.all(
      codes.map(async (issued, index) => {
        const [cancelled, consumed] = await Promise.all([
          h.post(shop.secretKey, `/v1/redemptions/${issued.id}/cancel`, { reason: "Race" }),
          h.consume(shop, issued.code, `order-${index}`),
        ]);
        return { issued, cancelled, consumed };
      }),
    );
    let used = 0;
    for (const { issued, cancelled, consumed } of outcomes) {
      expect([200, 409], cancelled.body).toContain(cancelled.statusCode);
      expect([200, 409, 422], consumed.body).toContain(consumed.statusCode);
      // Exactly one of the two went through, and the redemption says which.
      expect([cancelled.statusCode, consumed.statusCode].filter((status) => status === 200)).toHaveLength(1);
      const final = await h.redemption(shop, issued.id);
      expect(final.status).toBe(consumed.statusCode === 200 ? "used" : "cancelled");
      if (final.status === "used") used += 1;
    }
    // Points came back for the cancelled ones only.
    expect(await h.points(shop, memberId)).toBe(start - 100 * used);
    expect(await h.outbox(shop, "code.consumed")).toHaveLength(used);
    expect(await h.outbox(shop, "redemption.cancelled")).toHaveLength(20 - used);
  });
});
