import { expect, it } from "vitest";
import { createShop, describeEachDialect, type TestApp, type TestShop, useTestApp } from "../../../test/support/app.js";
import { apiCalls, type Json, type Method } from "../../../test/support/http.js";

const minute = 60 * 1000;
const day = 24 * 60 * minute;

const alphabet = "ABCDEFGHJKMNPQRTUVWXYZ2346789";
const group = `[${alphabet}]{4}`;
const codePattern = (prefix: string) => new RegExp(`^${prefix}${group}-${group}-${group}$`);

const usd = (amount: number) => ({ amount, currency: "USD" });

/** A redemption as lists show it: without the platform discount a single redemption carries. */
function withoutPlatform(redemption: Json): Json {
  const { shopify_discount: _platform, ...rest } = redemption;
  return rest;
}

function fiveOff(extra: Json = {}): Json {
  return {
    type: "amount_off",
    name: { en: "$5 off" },
    value: { amounts: [usd(500)] },
    cost: { type: "fixed", points: 500 },
    ...extra,
  };
}

/** Member (base), Silver, Gold: assigned by hand in these tests. */
const threeTiers = {
  tiers: [
    { key: "member", name: { en: "Member" } },
    { key: "silver", name: { en: "Silver" }, thresholds: { spend: usd(10000) } },
    { key: "gold", name: { en: "Gold" }, thresholds: { spend: usd(150000) } },
  ],
};

function harness(t: () => TestApp) {
  const { send, ok, problem } = apiCalls(t);
  const member = async (shop: TestShop, body: Json = {}) =>
    (await ok(send("POST", shop.secretKey, "/v1/members", body), 201)).id as string;
  const credit = (shop: TestShop, memberId: string, amount: number) =>
    ok(send("POST", shop.secretKey, `/v1/members/${memberId}/points/adjustments`, { amount, reason: "Test" }), 201);
  const points = (shop: TestShop, memberId: string) =>
    ok(send("GET", shop.secretKey, `/v1/members/${memberId}/points`), 200);
  const reward = (shop: TestShop, body: Json) => ok(send("POST", shop.secretKey, "/v1/rewards", body), 201);
  const getReward = (shop: TestShop, id: string) => ok(send("GET", shop.secretKey, `/v1/rewards/${id}`), 200);
  const redeem = (shop: TestShop, memberId: string, body: Json, headers: Record<string, string> = {}) =>
    send("POST", shop.secretKey, `/v1/members/${memberId}/redemptions`, body, headers);
  const redeemOk = (shop: TestShop, memberId: string, body: Json) => ok(redeem(shop, memberId, body), 201);
  const cancel = (shop: TestShop, redemptionId: string, reason = "Changed their mind") =>
    send("POST", shop.secretKey, `/v1/redemptions/${redemptionId}/cancel`, { reason });
  const token = async (shop: TestShop, memberId: string) =>
    (await ok(send("POST", shop.secretKey, `/v1/members/${memberId}/customer-tokens`, {}), 201)).token as string;
  /** A storefront call with the shop's publishable key and the shopper's token. */
  const me = (shop: TestShop, customerToken: string, method: Method, url: string, payload?: unknown, headers = {}) =>
    send(method, shop.publishableKey, url, payload, { "x-laurel-customer-token": customerToken, ...headers });
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

  async function storeCredit(shop: TestShop, memberId: string) {
    const db = t().database.db;
    const balances = await db
      .selectFrom("store_credit_balances")
      .select(["currency", "balance"])
      .where("shop_id", "=", shop.shop.id)
      .where("member_id", "=", memberId)
      .orderBy("currency")
      .execute();
    const entries = await db
      .selectFrom("store_credit_entries")
      .select(["currency", "amount", "redemption_id", "reason"])
      .where("shop_id", "=", shop.shop.id)
      .where("member_id", "=", memberId)
      .orderBy("id")
      .execute();
    return {
      balances: balances.map((row) => ({ currency: row.currency, balance: Number(row.balance) })),
      entries: entries.map((row) => ({ ...row, amount: Number(row.amount) })),
    };
  }

  /** Everything a refused redemption must leave as it was. */
  async function snapshot(shop: TestShop, memberId: string, rewardId: string) {
    const db = t().database.db;
    const count = async (table: "redemptions" | "outbox" | "ledger_transactions" | "store_credit_entries") =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("shop_id", "=", shop.shop.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const summary = await points(shop, memberId);
    const current = await getReward(shop, rewardId);
    return {
      available: summary.available,
      lifetimeSpent: summary.lifetime_spent,
      stock: current.stock,
      redeemed: current.redeemed,
      redemptions: await count("redemptions"),
      outbox: await count("outbox"),
      transactions: await count("ledger_transactions"),
      storeCreditEntries: await count("store_credit_entries"),
    };
  }

  return {
    send,
    ok,
    problem,
    member,
    credit,
    points,
    reward,
    getReward,
    redeem,
    redeemOk,
    cancel,
    token,
    me,
    now,
    outbox,
    storeCredit,
    snapshot,
  };
}

describeEachDialect("reward redemption API", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);

  it("spends a fixed price through the ledger and issues a code with the reward's prefix", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 1200);
    const created = await h.reward(
      shop,
      fiveOff({
        name: { en: "$5 off", fr: "5 $ de rabais" },
        min_order: [usd(2000)],
        stock: 10,
        code: { prefix: "VIP-", expires_in_days: 30 },
      }),
    );
    t().clock.advance(minute);
    const redemption = await h.redeemOk(shop, memberId, { reward_id: created.id });
    expect(redemption).toEqual({
      object: "redemption",
      id: redemption.id,
      member_id: memberId,
      reward_id: created.id,
      status: "issued",
      points: 500,
      transaction_id: redemption.transaction_id,
      refund_transaction_id: null,
      reward: {
        reward_id: created.id,
        version: 1,
        type: "amount_off",
        name: { en: "$5 off", fr: "5 $ de rabais" },
        value: { amounts: [usd(500)] },
        min_order: [usd(2000)],
      },
      code: redemption.code,
      code_expires_at: new Date(t().clock.now().getTime() + 30 * day).toISOString(),
      order_id: null,
      used_at: null,
      cancelled_at: null,
      cancel_reason: null,
      created_at: h.now(),
      // The shop has not turned on Shopify discount codes.
      shopify_discount: null,
    });
    expect(redemption.id).toMatch(/^[a-z]+_[0-9A-Z]{26}$/);
    expect(redemption.code).toMatch(codePattern("VIP-"));

    expect(await h.points(shop, memberId)).toMatchObject({ available: 700, lifetime_spent: 500 });
    const spend = await h.ok(
      h.send("GET", shop.secretKey, `/v1/points/transactions/${redemption.transaction_id}`),
      200,
    );
    expect(spend).toMatchObject({
      member_id: memberId,
      type: "redeem",
      amount: 500,
      reference: redemption.id,
      metadata: { redemption_id: redemption.id, reward_id: created.id },
      actor: { type: "api_key", id: shop.secretKeyId },
    });
    expect(await h.getReward(shop, created.id)).toMatchObject({ stock: { total: 10, remaining: 9 }, redeemed: 1 });

    expect(await h.ok(h.send("GET", shop.secretKey, `/v1/redemptions/${redemption.id}`), 200)).toEqual(redemption);
    expect(await h.ok(h.send("GET", shop.secretKey, `/v1/members/${memberId}/redemptions`), 200)).toEqual({
      data: [withoutPlatform(redemption)],
      has_more: false,
      next_cursor: null,
    });
    const events = await h.outbox(shop, "reward.redeemed");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "reward.redeemed",
      shop_id: shop.shop.id,
      created_at: h.now(),
      data: {
        member_id: memberId,
        redemption_id: redemption.id,
        reward_id: created.id,
        points: 500,
        code: redemption.code,
        issued: redemption.reward,
      },
    });

    // A later edit of the catalog does not change what was issued.
    await h.ok(
      h.send("PUT", shop.secretKey, `/v1/rewards/${created.id}`, fiveOff({ value: { amounts: [usd(700)] } })),
      200,
    );
    const again = await h.ok(h.send("GET", shop.secretKey, `/v1/redemptions/${redemption.id}`), 200);
    expect(again.reward).toMatchObject({ version: 1, value: { amounts: [usd(500)] } });
    const second = await h.redeemOk(shop, memberId, { reward_id: created.id });
    expect(second.reward).toMatchObject({ version: 2, value: { amounts: [usd(700)] } });
    // The prefix left out of the new version: none.
    expect(second.code).toMatch(codePattern(""));
    expect(await h.points(shop, memberId)).toMatchObject({ available: 200, lifetime_spent: 1000 });

    // Paging through the member's redemptions, newest first.
    const page = await h.ok(h.send("GET", shop.secretKey, `/v1/members/${memberId}/redemptions?limit=1`), 200);
    expect(page.data.map((row: Json) => row.id)).toEqual([second.id]);
    expect(page.has_more).toBe(true);
    const next = await h.ok(
      h.send("GET", shop.secretKey, `/v1/members/${memberId}/redemptions?limit=1&cursor=${page.next_cursor}`),
      200,
    );
    expect(next.data.map((row: Json) => row.id)).toEqual([redemption.id]);
    expect(next.has_more).toBe(false);
  });

  it("draws codes from the unambiguous alphabet only, unique over 200 redemptions", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 2000);
    const created = await h.reward(
      shop,
      fiveOff({ cost: { type: "fixed", points: 10 }, code: { prefix: "LAUREL-2026-", expires_in_days: null } }),
    );
    const codes = new Set<string>();
    for (let index = 0; index < 200; index++) {
      const redemption = await h.redeemOk(shop, memberId, { reward_id: created.id });
      expect(redemption.code).toMatch(codePattern("LAUREL-2026-"));
      expect(redemption.code_expires_at).toBeNull();
      codes.add(redemption.code);
    }
    expect(codes.size).toBe(200);
    const characters = new Set(
      [...codes].flatMap((code) => [...code.slice("LAUREL-2026-".length).replaceAll("-", "")]),
    );
    for (const character of characters) expect(alphabet).toContain(character);
    for (const ambiguous of ["0", "O", "1", "I", "L", "5", "S"]) expect(characters.has(ambiguous)).toBe(false);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 0, lifetime_spent: 2000 });
    expect(await h.getReward(shop, created.id)).toMatchObject({ redeemed: 200, stock: null });
  });

  it("prices a variable cost exactly: USD, JPY (no decimals) and KWD (3 decimals)", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 100_000);
    const variable = (unit: Json, extra: Json = {}) =>
      h.reward(shop, {
        type: "amount_off",
        name: { en: "Points off" },
        value: {},
        cost: { type: "variable", points_per_unit: 100, unit, min_points: 100, max_points: 10_000, ...extra },
      });
    const dollars = await variable(usd(100));
    const yen = await variable({ amount: 100, currency: "JPY" });
    const dinars = await variable({ amount: 1000, currency: "KWD" }, { step_points: 50 });
    // 3 points = 1 KWD: a third of a dinar per point, rounded down to a fils.
    const thirds = await h.reward(shop, {
      type: "amount_off",
      name: { en: "Thirds" },
      value: {},
      cost: {
        type: "variable",
        points_per_unit: 3,
        unit: { amount: 1000, currency: "KWD" },
        min_points: 1,
        max_points: 1000,
        step_points: 1,
      },
    });

    const amountOf = async (rewardId: string, body: Json = {}) => {
      const redemption = await h.redeemOk(shop, memberId, { reward_id: rewardId, ...body });
      return { points: redemption.points, amounts: redemption.reward.value.amounts };
    };
    // Without points: the minimum.
    expect(await amountOf(dollars.id)).toEqual({ points: 100, amounts: [usd(100)] });
    expect(await amountOf(dollars.id, { points: 2500 })).toEqual({ points: 2500, amounts: [usd(2500)] });
    expect(await amountOf(yen.id, { points: 2500 })).toEqual({
      points: 2500,
      amounts: [{ amount: 2500, currency: "JPY" }],
    });
    expect(await amountOf(yen.id, { points: 10_000 })).toEqual({
      points: 10_000,
      amounts: [{ amount: 10_000, currency: "JPY" }],
    });
    expect(await amountOf(dinars.id, { points: 250 })).toEqual({
      points: 250,
      amounts: [{ amount: 2500, currency: "KWD" }],
    });
    expect(await amountOf(dinars.id, { points: 150 })).toEqual({
      points: 150,
      amounts: [{ amount: 1500, currency: "KWD" }],
    });
    expect(await amountOf(thirds.id, { points: 10 })).toEqual({
      points: 10,
      amounts: [{ amount: 3333, currency: "KWD" }],
    });
    expect(await amountOf(thirds.id, { points: 3 })).toEqual({
      points: 3,
      amounts: [{ amount: 1000, currency: "KWD" }],
    });
    const spent = 100 + 2500 + 2500 + 10_000 + 250 + 150 + 10 + 3;
    expect(await h.points(shop, memberId)).toMatchObject({ available: 100_000 - spent, lifetime_spent: spent });

    // Points outside the range or between steps are refused, and nothing is spent.
    const before = await h.snapshot(shop, memberId, dinars.id);
    for (const [rewardId, requested] of [
      [dinars.id, 75],
      [dinars.id, 50],
      [dinars.id, 10_050],
      [dollars.id, 150],
    ] as const) {
      const refused = await h.problem(
        h.redeem(shop, memberId, { reward_id: rewardId, points: requested }),
        400,
        "validation_failed",
      );
      expect(refused.errors).toEqual([{ pointer: "/body/points", message: expect.stringMatching(/points/) }]);
    }
    // A fixed price takes no other number of points.
    const fixed = await h.reward(shop, fiveOff());
    await h.problem(h.redeem(shop, memberId, { reward_id: fixed.id, points: 400 }), 400, "validation_failed");
    expect(await h.snapshot(shop, memberId, dinars.id)).toEqual(before);
    expect((await h.redeemOk(shop, memberId, { reward_id: fixed.id, points: 500 })).points).toBe(500);

    // Bad bodies.
    for (const body of [
      {},
      { reward_id: fixed.id, points: 0 },
      { reward_id: fixed.id, points: "500" },
      { reward_id: fixed.id, extra: 1 },
    ]) {
      await h.problem(h.redeem(shop, memberId, body), 400, "validation_failed");
    }
  });

  it("refuses a member without the points with 422 insufficient_points and changes nothing", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 499);
    const created = await h.reward(shop, fiveOff({ stock: 3 }));
    const before = await h.snapshot(shop, memberId, created.id);
    expect(before).toMatchObject({ available: 499, stock: { total: 3, remaining: 3 }, redeemed: 0, redemptions: 0 });
    const refused = await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 422, "insufficient_points");
    expect(refused.detail).toMatch(/499/);
    expect(refused.errors).toEqual([{ pointer: "/body/reward_id", message: expect.stringMatching(/500 points/) }]);
    expect(await h.snapshot(shop, memberId, created.id)).toEqual(before);
    expect(await h.outbox(shop, "reward.redeemed")).toEqual([]);

    // A variable price asks for the points requested.
    const variable = await h.reward(shop, {
      type: "amount_off",
      name: { en: "Points off" },
      value: {},
      stock: 5,
      cost: { type: "variable", points_per_unit: 100, unit: usd(100), min_points: 100, max_points: 1000 },
    });
    const beforeVariable = await h.snapshot(shop, memberId, variable.id);
    const variableRefused = await h.problem(
      h.redeem(shop, memberId, { reward_id: variable.id, points: 500 }),
      422,
      "insufficient_points",
    );
    expect(variableRefused.errors).toEqual([{ pointer: "/body/points", message: expect.stringMatching(/500 points/) }]);
    expect(await h.snapshot(shop, memberId, variable.id)).toEqual(beforeVariable);
    expect((await h.redeemOk(shop, memberId, { reward_id: variable.id, points: 400 })).reward.value).toEqual({
      amounts: [usd(400)],
    });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 99 });

    // One more point and the fixed reward is affordable.
    await h.credit(shop, memberId, 401);
    await h.redeemOk(shop, memberId, { reward_id: created.id });
    expect(await h.getReward(shop, created.id)).toMatchObject({ stock: { total: 3, remaining: 2 }, redeemed: 1 });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 0 });
  });

  it("refuses a reward out of stock with 409 out_of_stock; a cancellation gives the unit back", async () => {
    const shop = await createShop(t());
    const first = await h.member(shop);
    const second = await h.member(shop);
    await h.credit(shop, first, 1000);
    await h.credit(shop, second, 1000);
    const created = await h.reward(shop, fiveOff({ stock: 1 }));
    const redemption = await h.redeemOk(shop, first, { reward_id: created.id });
    expect(await h.getReward(shop, created.id)).toMatchObject({ stock: { total: 1, remaining: 0 }, redeemed: 1 });

    const before = await h.snapshot(shop, second, created.id);
    await h.problem(h.redeem(shop, second, { reward_id: created.id }), 409, "out_of_stock");
    expect(await h.snapshot(shop, second, created.id)).toEqual(before);

    await h.ok(h.cancel(shop, redemption.id), 200);
    expect(await h.getReward(shop, created.id)).toMatchObject({ stock: { total: 1, remaining: 1 }, redeemed: 0 });
    await h.redeemOk(shop, second, { reward_id: created.id });
    await h.problem(h.redeem(shop, first, { reward_id: created.id }), 409, "out_of_stock");

    const none = await h.reward(shop, fiveOff({ stock: 0 }));
    await h.problem(h.redeem(shop, first, { reward_id: none.id }), 409, "out_of_stock");
    expect(await h.getReward(shop, none.id)).toMatchObject({ stock: { total: 0, remaining: 0 }, redeemed: 0 });
    // Restocking with PUT makes it redeemable.
    await h.ok(h.send("PUT", shop.secretKey, `/v1/rewards/${none.id}`, fiveOff({ stock: 1 })), 200);
    await h.redeemOk(shop, first, { reward_id: none.id });
    expect(await h.points(shop, first)).toMatchObject({ available: 500 });
  });

  it("stops a member at the per-member limit with 409 redemption_limit_reached", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    const other = await h.member(shop);
    await h.credit(shop, memberId, 5000);
    await h.credit(shop, other, 5000);
    const created = await h.reward(shop, fiveOff({ per_member_limit: 2 }));
    const first = await h.redeemOk(shop, memberId, { reward_id: created.id });
    const second = await h.redeemOk(shop, memberId, { reward_id: created.id });
    const before = await h.snapshot(shop, memberId, created.id);
    await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 409, "redemption_limit_reached");
    expect(await h.snapshot(shop, memberId, created.id)).toEqual(before);
    // The limit is per member.
    await h.redeemOk(shop, other, { reward_id: created.id });
    // A used code still counts; a cancelled one does not.
    await h.ok(
      h.send("POST", shop.secretKey, "/v1/codes/consume", {
        code: first.code,
        order_id: "order-1",
        cart: { total: 5000, currency: "USD" },
      }),
      200,
    );
    await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 409, "redemption_limit_reached");
    await h.ok(h.cancel(shop, second.id), 200);
    await h.redeemOk(shop, memberId, { reward_id: created.id });
    await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 409, "redemption_limit_reached");
    expect(await h.points(shop, memberId)).toMatchObject({ available: 4000 });
  });

  it("keeps a first-redemption-only reward for a member's first redemption", async () => {
    const shop = await createShop(t());
    const welcome = await h.reward(
      shop,
      fiveOff({ name: { en: "Welcome" }, eligibility: { first_redemption_only: true } }),
    );
    const plain = await h.reward(shop, fiveOff({ name: { en: "Plain" } }));
    const veteran = await h.member(shop);
    const newcomer = await h.member(shop);
    await h.credit(shop, veteran, 5000);
    await h.credit(shop, newcomer, 5000);

    const earlier = await h.redeemOk(shop, veteran, { reward_id: plain.id });
    const before = await h.snapshot(shop, veteran, welcome.id);
    const refused = await h.problem(h.redeem(shop, veteran, { reward_id: welcome.id }), 409, "reward_unavailable");
    expect(refused.detail).toMatch(/first redemption/);
    expect(await h.snapshot(shop, veteran, welcome.id)).toEqual(before);

    await h.redeemOk(shop, newcomer, { reward_id: welcome.id });
    await h.problem(h.redeem(shop, newcomer, { reward_id: welcome.id }), 409, "reward_unavailable");

    // Once the earlier redemption is cancelled, the veteran has never redeemed.
    await h.ok(h.cancel(shop, earlier.id), 200);
    await h.redeemOk(shop, veteran, { reward_id: welcome.id });
  });

  it("lets only members of the reward's tiers redeem it", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 5000);
    const goldOnly = await h.reward(shop, fiveOff({ eligibility: { tiers: ["gold"] } }));
    const silverOrGold = await h.reward(shop, fiveOff({ eligibility: { tiers: ["silver", "gold"] } }));

    // No tier program: nobody is in a tier.
    const before = await h.snapshot(shop, memberId, goldOnly.id);
    const noProgram = await h.problem(h.redeem(shop, memberId, { reward_id: goldOnly.id }), 409, "reward_unavailable");
    expect(noProgram.detail).toMatch(/gold/);
    expect(await h.snapshot(shop, memberId, goldOnly.id)).toEqual(before);

    await h.ok(h.send("PUT", shop.secretKey, "/v1/tiers", threeTiers), 201);
    // In the base tier.
    await h.problem(h.redeem(shop, memberId, { reward_id: goldOnly.id }), 409, "reward_unavailable");
    await h.problem(h.redeem(shop, memberId, { reward_id: silverOrGold.id }), 409, "reward_unavailable");

    await h.ok(h.send("PUT", shop.secretKey, `/v1/members/${memberId}/tier`, { tier: "silver", reason: "Test" }), 200);
    await h.problem(h.redeem(shop, memberId, { reward_id: goldOnly.id }), 409, "reward_unavailable");
    await h.redeemOk(shop, memberId, { reward_id: silverOrGold.id });

    await h.ok(h.send("PUT", shop.secretKey, `/v1/members/${memberId}/tier`, { tier: "gold", reason: "Test" }), 200);
    await h.redeemOk(shop, memberId, { reward_id: goldOnly.id });
    await h.redeemOk(shop, memberId, { reward_id: silverOrGold.id });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 3500 });

    // With a program in place, a reward must name its tiers: a typo is refused, nothing created.
    const typo = await h.send(
      "POST",
      shop.secretKey,
      "/v1/rewards",
      fiveOff({ eligibility: { tiers: ["gold", "gould"] } }),
    );
    expect(typo.statusCode).toBe(400);
    expect(typo.json().errors).toEqual([
      { pointer: "/body/eligibility/tiers/1", message: '"gould" is not a tier of the program (member, silver, gold)' },
    ]);
    const catalog = await h.ok(h.send("GET", shop.secretKey, "/v1/rewards"), 200);
    expect(catalog.data).toHaveLength(2);
  });

  it("redeems a reward only inside its window", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 5000);
    const start = t().clock.now().getTime();
    const created = await h.reward(
      shop,
      fiveOff({ starts_at: new Date(start + day).toISOString(), ends_at: new Date(start + 3 * day).toISOString() }),
    );
    const before = await h.snapshot(shop, memberId, created.id);
    const early = await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 409, "reward_unavailable");
    expect(early.detail).toContain(new Date(start + day).toISOString());
    expect(await h.snapshot(shop, memberId, created.id)).toEqual(before);

    t().clock.advance(day - 1);
    await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 409, "reward_unavailable");
    t().clock.advance(1);
    await h.redeemOk(shop, memberId, { reward_id: created.id });
    t().clock.advance(2 * day - 1);
    await h.redeemOk(shop, memberId, { reward_id: created.id });
    t().clock.advance(1);
    const late = await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 409, "reward_unavailable");
    expect(late.detail).toContain(new Date(start + 3 * day).toISOString());
    expect(await h.points(shop, memberId)).toMatchObject({ available: 4000 });
  });

  it("refuses disabled, archived and unknown rewards, and members who are not active", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 5000);
    const created = await h.reward(shop, fiveOff({ stock: 5 }));

    await h.ok(h.send("POST", shop.secretKey, `/v1/rewards/${created.id}/disable`), 200);
    const before = await h.snapshot(shop, memberId, created.id);
    const disabled = await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 409, "reward_unavailable");
    expect(disabled.detail).toMatch(/disabled/);
    expect(await h.snapshot(shop, memberId, created.id)).toEqual(before);
    await h.ok(h.send("POST", shop.secretKey, `/v1/rewards/${created.id}/enable`), 200);
    const redemption = await h.redeemOk(shop, memberId, { reward_id: created.id });

    await h.ok(h.send("DELETE", shop.secretKey, `/v1/rewards/${created.id}`), 200);
    const archivedBefore = await h.snapshot(shop, memberId, created.id);
    const archived = await h.problem(h.redeem(shop, memberId, { reward_id: created.id }), 409, "reward_unavailable");
    expect(archived.detail).toMatch(/archived/);
    expect(await h.snapshot(shop, memberId, created.id)).toEqual(archivedBefore);
    // Codes issued before stay as they were.
    expect(await h.ok(h.send("GET", shop.secretKey, `/v1/redemptions/${redemption.id}`), 200)).toMatchObject({
      status: "issued",
    });

    await h.problem(h.redeem(shop, memberId, { reward_id: "rwd_01JD8X3M6Q2W9V4T7R5Y1K0ZAB" }), 404, "reward_not_found");
    await h.problem(
      h.redeem(shop, "mem_01JD8X3M6Q2W9V4T7R5Y1K0ZAB", { reward_id: created.id }),
      404,
      "member_not_found",
    );

    const open = await h.reward(shop, fiveOff());
    await h.ok(h.send("PATCH", shop.secretKey, `/v1/members/${memberId}`, { status: "suspended" }), 200);
    const suspendedBefore = await h.snapshot(shop, memberId, open.id);
    const suspended = await h.problem(h.redeem(shop, memberId, { reward_id: open.id }), 409, "reward_unavailable");
    expect(suspended.detail).toMatch(/suspended/);
    expect(await h.snapshot(shop, memberId, open.id)).toEqual(suspendedBefore);
    await h.ok(h.send("PATCH", shop.secretKey, `/v1/members/${memberId}`, { status: "active" }), 200);
    await h.redeemOk(shop, memberId, { reward_id: open.id });

    const guest = await h.member(shop, { status: "guest" });
    await h.credit(shop, guest, 1000);
    await h.problem(h.redeem(shop, guest, { reward_id: open.id }), 409, "reward_unavailable");
    await h.ok(h.send("DELETE", shop.secretKey, `/v1/members/${memberId}`), 200);
    await h.problem(h.redeem(shop, memberId, { reward_id: open.id }), 409, "reward_unavailable");
    expect(await h.points(shop, guest)).toMatchObject({ available: 1000 });
  });

  it("answers a retry with the same Idempotency-Key with the first redemption, and debits once", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 2000);
    const created = await h.reward(shop, fiveOff({ stock: 10 }));
    const headers = { "idempotency-key": "redeem-1" };
    const first = await h.redeem(shop, memberId, { reward_id: created.id }, headers);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    t().clock.advance(minute);
    const retry = await h.redeem(shop, memberId, { reward_id: created.id }, headers);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json()).toEqual(first.json());

    expect(await h.points(shop, memberId)).toMatchObject({ available: 1500, lifetime_spent: 500 });
    expect(await h.getReward(shop, created.id)).toMatchObject({ stock: { total: 10, remaining: 9 }, redeemed: 1 });
    expect((await h.ok(h.send("GET", shop.secretKey, `/v1/members/${memberId}/redemptions`), 200)).data).toHaveLength(
      1,
    );
    expect(await h.outbox(shop, "reward.redeemed")).toHaveLength(1);

    // The same key with another request is refused; a new key redeems again.
    await h.problem(
      h.redeem(shop, memberId, { reward_id: created.id, points: 500 }, headers),
      409,
      "idempotency_key_reused",
    );
    const other = await h.redeem(shop, memberId, { reward_id: created.id }, { "idempotency-key": "redeem-2" });
    expect(other.statusCode).toBe(201);
    expect(other.json().id).not.toBe(first.json().id);
    expect(await h.points(shop, memberId)).toMatchObject({ available: 1000 });

    // A refusal is replayed as a refusal, without spending anything.
    const poor = await h.member(shop);
    const refused = await h.redeem(shop, poor, { reward_id: created.id }, { "idempotency-key": "redeem-3" });
    expect(refused.statusCode).toBe(422);
    await h.credit(shop, poor, 500);
    const refusedAgain = await h.redeem(shop, poor, { reward_id: created.id }, { "idempotency-key": "redeem-3" });
    expect(refusedAgain.statusCode).toBe(422);
    expect(refusedAgain.headers["idempotent-replayed"]).toBe("true");
    expect(await h.points(shop, poor)).toMatchObject({ available: 500 });
  });

  it("adds store credit to the member's balance in the shop currency, and takes it back on cancel", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 5000);
    const tenDollars = await h.reward(shop, {
      type: "store_credit",
      name: { en: "$10 credit" },
      value: { amounts: [usd(1000)] },
      cost: { type: "fixed", points: 1000 },
      stock: 5,
    });
    const variable = await h.reward(shop, {
      type: "store_credit",
      name: { en: "Points to credit" },
      value: { amounts: [] },
      cost: {
        type: "variable",
        points_per_unit: 100,
        unit: usd(100),
        min_points: 100,
        max_points: 5000,
        step_points: 50,
      },
    });
    const fixed = await h.redeemOk(shop, memberId, { reward_id: tenDollars.id });
    expect(fixed).toMatchObject({
      status: "used",
      code: null,
      code_expires_at: null,
      used_at: h.now(),
      points: 1000,
      reward: { type: "store_credit", value: { amounts: [usd(1000)] } },
    });
    const flexible = await h.redeemOk(shop, memberId, { reward_id: variable.id, points: 250 });
    expect(flexible.reward.value).toEqual({ amounts: [usd(250)] });
    expect(await h.storeCredit(shop, memberId)).toEqual({
      balances: [{ currency: "USD", balance: 1250 }],
      entries: [
        { currency: "USD", amount: 1000, redemption_id: fixed.id, reason: "Redeemed points" },
        { currency: "USD", amount: 250, redemption_id: flexible.id, reason: "Redeemed points" },
      ],
    });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 3750 });
    const events = await h.outbox(shop, "reward.redeemed");
    expect(events.map((event) => event.data.code)).toEqual([null, null]);

    const cancelled = await h.ok(h.cancel(shop, fixed.id, "Credit given by mistake"), 200);
    expect(cancelled).toMatchObject({ status: "cancelled", cancel_reason: "Credit given by mistake" });
    expect(await h.storeCredit(shop, memberId)).toMatchObject({
      balances: [{ currency: "USD", balance: 250 }],
      entries: [
        { amount: 1000 },
        { amount: 250 },
        { currency: "USD", amount: -1000, redemption_id: fixed.id, reason: "Credit given by mistake" },
      ],
    });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 4750 });
    expect(await h.getReward(shop, tenDollars.id)).toMatchObject({ stock: { total: 5, remaining: 5 }, redeemed: 0 });

    // Credit the member no longer holds cannot be taken back. (No route spends store credit yet:
    // the balance is lowered in the database, as a checkout integration would.)
    await t()
      .database.db.updateTable("store_credit_balances")
      .set({ balance: 100 })
      .where("shop_id", "=", shop.shop.id)
      .where("member_id", "=", memberId)
      .execute();
    const before = await h.snapshot(shop, memberId, variable.id);
    await h.problem(h.cancel(shop, flexible.id), 409, "redemption_not_cancellable");
    expect(await h.snapshot(shop, memberId, variable.id)).toEqual(before);
    expect((await h.storeCredit(shop, memberId)).balances).toEqual([{ currency: "USD", balance: 100 }]);
  });

  it("keeps store credit exact in a JPY shop and a KWD shop", async () => {
    const yenShop = await createShop(t(), { baseCurrency: "JPY" });
    const yenMember = await h.member(yenShop);
    await h.credit(yenShop, yenMember, 10_000);
    const yen = await h.reward(yenShop, {
      type: "store_credit",
      name: { en: "Points to yen" },
      value: { amounts: [] },
      // 10 points = ¥1.
      cost: {
        type: "variable",
        points_per_unit: 10,
        unit: { amount: 1, currency: "JPY" },
        min_points: 10,
        max_points: 10_000,
      },
    });
    await h.redeemOk(yenShop, yenMember, { reward_id: yen.id, points: 2500 });
    await h.redeemOk(yenShop, yenMember, { reward_id: yen.id, points: 10 });
    expect((await h.storeCredit(yenShop, yenMember)).balances).toEqual([{ currency: "JPY", balance: 251 }]);

    const dinarShop = await createShop(t(), { baseCurrency: "KWD" });
    const dinarMember = await h.member(dinarShop);
    await h.credit(dinarShop, dinarMember, 10_000);
    const dinars = await h.reward(dinarShop, {
      type: "store_credit",
      name: { en: "Points to dinars" },
      value: { amounts: [] },
      // 100 points = 1.000 KWD.
      cost: {
        type: "variable",
        points_per_unit: 100,
        unit: { amount: 1000, currency: "KWD" },
        min_points: 50,
        max_points: 5000,
        step_points: 50,
      },
    });
    const fixedDinars = await h.reward(dinarShop, {
      type: "store_credit",
      name: { en: "1.250 KWD" },
      value: { amounts: [{ amount: 1250, currency: "KWD" }] },
      cost: { type: "fixed", points: 125 },
    });
    await h.redeemOk(dinarShop, dinarMember, { reward_id: dinars.id, points: 350 });
    await h.redeemOk(dinarShop, dinarMember, { reward_id: dinars.id });
    await h.redeemOk(dinarShop, dinarMember, { reward_id: fixedDinars.id });
    // 3.500 + 0.500 + 1.250 KWD.
    expect((await h.storeCredit(dinarShop, dinarMember)).balances).toEqual([{ currency: "KWD", balance: 5250 }]);
    expect(await h.points(dinarShop, dinarMember)).toMatchObject({ available: 10_000 - 350 - 50 - 125 });
  });

  it("cancels an unused redemption: the points, the stock unit and an event come back, once", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 800);
    const created = await h.reward(shop, fiveOff({ stock: 2 }));
    const redemption = await h.redeemOk(shop, memberId, { reward_id: created.id });
    expect(await h.points(shop, memberId)).toMatchObject({ available: 300, lifetime_spent: 500 });

    t().clock.advance(minute);
    const cancelled = await h.ok(h.cancel(shop, redemption.id, "Order abandoned"), 200);
    expect(cancelled).toEqual({
      ...redemption,
      status: "cancelled",
      refund_transaction_id: cancelled.refund_transaction_id,
      cancelled_at: h.now(),
      cancel_reason: "Order abandoned",
    });
    expect(cancelled.refund_transaction_id).toEqual(expect.any(String));
    expect(await h.ok(h.send("GET", shop.secretKey, `/v1/redemptions/${redemption.id}`), 200)).toEqual(cancelled);
    expect((await h.points(shop, memberId)).available).toBe(800);
    const refund = await h.ok(
      h.send("GET", shop.secretKey, `/v1/points/transactions/${cancelled.refund_transaction_id}`),
      200,
    );
    expect(refund).toMatchObject({
      type: "reverse",
      amount: 500,
      reverses_transaction_id: redemption.transaction_id,
      reason: "Order abandoned",
      reference: redemption.id,
    });
    expect(await h.getReward(shop, created.id)).toMatchObject({ stock: { total: 2, remaining: 2 }, redeemed: 0 });
    const events = await h.outbox(shop, "redemption.cancelled");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      data: {
        member_id: memberId,
        redemption_id: redemption.id,
        reward_id: created.id,
        points_refunded: 500,
        reason: "Order abandoned",
      },
    });

    // A second cancel is refused and changes nothing.
    const before = await h.snapshot(shop, memberId, created.id);
    await h.problem(h.cancel(shop, redemption.id), 409, "redemption_not_cancellable");
    expect(await h.snapshot(shop, memberId, created.id)).toEqual(before);

    // A used code cannot be cancelled.
    const used = await h.redeemOk(shop, memberId, { reward_id: created.id });
    await h.ok(
      h.send("POST", shop.secretKey, "/v1/codes/consume", {
        code: used.code,
        order_id: "order-42",
        cart: { total: 3000, currency: "USD" },
      }),
      200,
    );
    const usedBefore = await h.snapshot(shop, memberId, created.id);
    const refused = await h.problem(h.cancel(shop, used.id), 409, "redemption_not_cancellable");
    expect(refused.detail).toContain("order-42");
    expect(await h.snapshot(shop, memberId, created.id)).toEqual(usedBefore);
    // Released from the order, it can be.
    await h.ok(h.send("POST", shop.secretKey, "/v1/codes/release", { code: used.code, order_id: "order-42" }), 200);
    await h.ok(h.cancel(shop, used.id), 200);
    expect((await h.points(shop, memberId)).available).toBe(800);
    expect(await h.outbox(shop, "redemption.cancelled")).toHaveLength(2);

    await h.problem(h.cancel(shop, "rdm_01JD8X3M6Q2W9V4T7R5Y1K0ZAB"), 404, "redemption_not_found");
    await h.problem(
      h.send("GET", shop.secretKey, "/v1/redemptions/rdm_01JD8X3M6Q2W9V4T7R5Y1K0ZAB"),
      404,
      "redemption_not_found",
    );
    for (const body of [{}, { reason: "" }, { reason: 5 }, { reason: "x", extra: true }]) {
      await h.problem(
        h.send("POST", shop.secretKey, `/v1/redemptions/${used.id}/cancel`, body),
        400,
        "validation_failed",
      );
    }
  });

  it("shows the shopper the rewards with affordable and eligible flags and the points needed", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 700);
    const start = t().clock.now().getTime();
    const cheap = await h.reward(shop, fiveOff({ name: { en: "Cheap" } }));
    const dear = await h.reward(shop, fiveOff({ name: { en: "Dear" }, cost: { type: "fixed", points: 1000 } }));
    const variable = await h.reward(shop, {
      type: "amount_off",
      name: { en: "Variable" },
      value: {},
      cost: { type: "variable", points_per_unit: 100, unit: usd(100), min_points: 600, max_points: 5000 },
    });
    const gold = await h.reward(shop, fiveOff({ name: { en: "Gold" }, eligibility: { tiers: ["gold"] } }));
    const soldOut = await h.reward(shop, fiveOff({ name: { en: "Sold out" }, stock: 0 }));
    const once = await h.reward(
      shop,
      fiveOff({ name: { en: "Once" }, per_member_limit: 1, cost: { type: "fixed", points: 100 } }),
    );
    const disabled = await h.reward(shop, fiveOff({ name: { en: "Disabled" }, enabled: false }));
    const archived = await h.reward(shop, fiveOff({ name: { en: "Archived" } }));
    await h.ok(h.send("DELETE", shop.secretKey, `/v1/rewards/${archived.id}`), 200);
    const later = await h.reward(
      shop,
      fiveOff({ name: { en: "Later" }, starts_at: new Date(start + day).toISOString() }),
    );
    const over = await h.reward(
      shop,
      fiveOff({
        name: { en: "Over" },
        starts_at: new Date(start - day).toISOString(),
        ends_at: new Date(start + minute).toISOString(),
      }),
    );
    await h.redeemOk(shop, memberId, { reward_id: once.id });
    t().clock.advance(minute);
    const customer = await h.token(shop, memberId);

    const response = await h.me(shop, customer, "GET", "/v1/me/rewards");
    expect(response.headers["cache-control"]).toBe("private, no-store");
    const listed = await h.ok(Promise.resolve(response), 200);
    const byName = Object.fromEntries(listed.data.map((item: Json) => [item.name.en, item]));
    // Newest first; disabled, archived and out-of-window rewards are left out.
    expect(listed.data.map((item: Json) => item.name.en)).toEqual([
      "Once",
      "Sold out",
      "Gold",
      "Variable",
      "Dear",
      "Cheap",
    ]);
    expect(Object.keys(byName)).not.toContain(disabled.name.en);
    expect(listed.data.map((item: Json) => item.id)).not.toContain(later.id);
    expect(listed.data.map((item: Json) => item.id)).not.toContain(over.id);
    expect(byName.Cheap).toEqual({
      ...(await h.getReward(shop, cheap.id)),
      affordable: true,
      eligible: true,
      ineligible_reason: null,
      points_needed: 0,
    });
    expect(byName.Dear).toMatchObject({ id: dear.id, affordable: false, eligible: true, points_needed: 400 });
    expect(byName.Variable).toMatchObject({ id: variable.id, affordable: true, eligible: true, points_needed: 0 });
    expect(byName.Gold).toMatchObject({ id: gold.id, affordable: true, eligible: false, points_needed: 0 });
    expect(byName.Gold.ineligible_reason).toMatch(/gold/);
    expect(byName["Sold out"]).toMatchObject({
      id: soldOut.id,
      eligible: false,
      ineligible_reason: expect.any(String),
    });
    expect(byName.Once).toMatchObject({ id: once.id, affordable: true, eligible: false });
    expect(byName.Once.ineligible_reason).toMatch(/1 time/);

    // The shopper redeems for themself; the token names the member.
    const mine = await h.ok(h.me(shop, customer, "POST", "/v1/me/redemptions", { reward_id: cheap.id }), 201);
    expect(mine).toMatchObject({ member_id: memberId, reward_id: cheap.id, status: "issued", points: 500 });
    expect(mine.code).toMatch(codePattern(""));
    expect(await h.points(shop, memberId)).toMatchObject({ available: 100 });
    const after = await h.ok(h.me(shop, customer, "GET", "/v1/me/rewards"), 200);
    const cheapAfter = after.data.find((item: Json) => item.id === cheap.id);
    expect(cheapAfter).toMatchObject({ affordable: false, eligible: true, points_needed: 400, redeemed: 1 });
    await h.problem(
      h.me(shop, customer, "POST", "/v1/me/redemptions", { reward_id: cheap.id }),
      422,
      "insufficient_points",
    );
    await h.problem(
      h.me(shop, customer, "POST", "/v1/me/redemptions", { reward_id: gold.id }),
      409,
      "reward_unavailable",
    );
    // The body cannot name another member.
    await h.problem(
      h.me(shop, customer, "POST", "/v1/me/redemptions", { reward_id: cheap.id, member_id: memberId }),
      400,
      "validation_failed",
    );

    const own = await h.ok(h.me(shop, customer, "GET", "/v1/me/redemptions"), 200);
    expect(own.data.map((row: Json) => row.id)).toEqual([mine.id, expect.any(String)]);
    expect(own.data[0]).toEqual(withoutPlatform(mine));
    const page = await h.ok(h.me(shop, customer, "GET", "/v1/me/redemptions?limit=1"), 200);
    expect(page).toMatchObject({ has_more: true, data: [{ id: mine.id }] });

    // Another member's token sees only that member's redemptions.
    const otherId = await h.member(shop);
    const otherToken = await h.token(shop, otherId);
    expect(await h.ok(h.me(shop, otherToken, "GET", "/v1/me/redemptions"), 200)).toEqual({
      data: [],
      has_more: false,
      next_cursor: null,
    });
    const otherCatalog = await h.ok(h.me(shop, otherToken, "GET", "/v1/me/rewards"), 200);
    expect(otherCatalog.data.find((item: Json) => item.id === cheap.id)).toMatchObject({
      affordable: false,
      points_needed: 500,
    });

    // No token, a bad token, or the publishable key on a secret route.
    for (const url of ["/v1/me/rewards", "/v1/me/redemptions"]) {
      await h.problem(h.send("GET", shop.publishableKey, url), 401, "customer_token_required");
      await h.problem(
        h.send("GET", shop.publishableKey, url, undefined, { "x-laurel-customer-token": `${customer}x` }),
        401,
        "invalid_customer_token",
      );
    }
    await h.problem(
      h.send("POST", shop.publishableKey, `/v1/members/${memberId}/redemptions`, { reward_id: cheap.id }),
      403,
      "secret_key_required",
    );
    await h.problem(h.send("POST", shop.publishableKey, "/v1/rewards", fiveOff()), 403, "secret_key_required");
  });

  it("replays a shopper's redemption sent again with the same Idempotency-Key", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 1000);
    const created = await h.reward(shop, fiveOff());
    const customer = await h.token(shop, memberId);
    const headers = { "idempotency-key": "checkout-7" };
    const first = await h.me(shop, customer, "POST", "/v1/me/redemptions", { reward_id: created.id }, headers);
    expect(first.statusCode, first.body).toBe(201);
    const again = await h.me(shop, customer, "POST", "/v1/me/redemptions", { reward_id: created.id }, headers);
    expect(again.statusCode).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual(first.json());
    expect(await h.points(shop, memberId)).toMatchObject({ available: 500 });

    // Another shopper using the same key is not answered with this one's redemption.
    const otherId = await h.member(shop);
    await h.credit(shop, otherId, 1000);
    const other = await h.me(
      shop,
      await h.token(shop, otherId),
      "POST",
      "/v1/me/redemptions",
      { reward_id: created.id },
      headers,
    );
    expect(other.statusCode).toBe(201);
    expect(other.json()).toMatchObject({ member_id: otherId });
    expect(other.json().id).not.toBe(first.json().id);
  });

  it("never overspends or oversells when one member fires 50 redemptions at once (stock runs out first)", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    // Points for 20, stock for 15.
    await h.credit(shop, memberId, 2000);
    const created = await h.reward(shop, fiveOff({ cost: { type: "fixed", points: 100 }, stock: 15 }));
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => h.redeem(shop, memberId, { reward_id: created.id })),
    );
    const statuses = responses.map((response) => response.statusCode);
    for (const response of responses) {
      expect([201, 409, 422], response.body).toContain(response.statusCode);
      if (response.statusCode !== 201) expect(response.json().code).toBe("out_of_stock");
    }
    const successes = statuses.filter((status) => status === 201).length;
    expect(successes).toBe(15);
    const summary = await h.points(shop, memberId);
    expect(summary.available).toBeGreaterThanOrEqual(0);
    expect(summary.lifetime_spent).toBe(successes * 100);
    expect(summary.available).toBe(2000 - successes * 100);
    const after = await h.getReward(shop, created.id);
    expect(after).toMatchObject({ stock: { total: 15, remaining: 0 }, redeemed: successes });
    const rows = await t()
      .database.db.selectFrom("redemptions")
      .select(["code"])
      .where("shop_id", "=", shop.shop.id)
      .execute();
    expect(rows).toHaveLength(successes);
    expect(new Set(rows.map((row) => row.code)).size).toBe(successes);
    expect(await h.outbox(shop, "reward.redeemed")).toHaveLength(successes);
  });

  it("never overspends when one member fires 50 redemptions at once (points run out first)", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    // Points for 20, stock for 30.
    await h.credit(shop, memberId, 2050);
    const created = await h.reward(shop, fiveOff({ cost: { type: "fixed", points: 100 }, stock: 30 }));
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => h.redeem(shop, memberId, { reward_id: created.id })),
    );
    const codes = new Map<number, string[]>();
    for (const response of responses) {
      expect([201, 409, 422], response.body).toContain(response.statusCode);
      if (response.statusCode !== 201) {
        codes.set(response.statusCode, [...(codes.get(response.statusCode) ?? []), response.json().code]);
      }
    }
    const successes = responses.filter((response) => response.statusCode === 201).length;
    expect(successes).toBe(20);
    expect(codes.get(422)).toEqual(Array(30).fill("insufficient_points"));
    const summary = await h.points(shop, memberId);
    expect(summary).toMatchObject({ available: 50, lifetime_spent: 2000 });
    expect(summary.lifetime_spent / 100).toBe(successes);
    const after = await h.getReward(shop, created.id);
    expect(after).toMatchObject({ stock: { total: 30, remaining: 10 }, redeemed: successes });
    const rows = await t()
      .database.db.selectFrom("redemptions")
      .select("id")
      .where("shop_id", "=", shop.shop.id)
      .execute();
    expect(rows).toHaveLength(successes);
  });

  it("holds the per-member limit and a shared stock under concurrent redemptions", async () => {
    const shop = await createShop(t());
    const memberId = await h.member(shop);
    await h.credit(shop, memberId, 10_000);
    const limited = await h.reward(shop, fiveOff({ cost: { type: "fixed", points: 100 }, per_member_limit: 3 }));
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => h.redeem(shop, memberId, { reward_id: limited.id })),
    );
    expect(responses.filter((response) => response.statusCode === 201)).toHaveLength(3);
    for (const response of responses.filter((done) => done.statusCode !== 201)) {
      expect(response.statusCode).toBe(409);
      expect(response.json().code).toBe("redemption_limit_reached");
    }
    expect(await h.points(shop, memberId)).toMatchObject({ available: 9700 });

    // Twenty members race for five units.
    const members = await Promise.all(Array.from({ length: 20 }, () => h.member(shop)));
    for (const id of members) await h.credit(shop, id, 100);
    const scarce = await h.reward(shop, fiveOff({ cost: { type: "fixed", points: 100 }, stock: 5 }));
    const race = await Promise.all(members.map((id) => h.redeem(shop, id, { reward_id: scarce.id })));
    const winners = race.filter((response) => response.statusCode === 201);
    expect(winners).toHaveLength(5);
    for (const response of race.filter((done) => done.statusCode !== 201)) {
      expect(response.statusCode).toBe(409);
      expect(response.json().code).toBe("out_of_stock");
    }
    expect(await h.getReward(shop, scarce.id)).toMatchObject({ stock: { total: 5, remaining: 0 }, redeemed: 5 });
    const balances = await Promise.all(members.map(async (id) => (await h.points(shop, id)).available as number));
    expect(balances.filter((available) => available === 0)).toHaveLength(5);
    expect(balances.filter((available) => available === 100)).toHaveLength(15);
  });
});
