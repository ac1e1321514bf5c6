import { expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, type TestShop, useTestApp } from "../../../test/support/app.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field; expect() checks them.
type Json = Record<string, any>;

describeEachDialect("store credit", (dialect) => {
  const t = useTestApp(dialect);
  let members = 0;

  async function json(token: string, method: "GET" | "POST", url: string, status: number, payload?: Json) {
    const response = await t().app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
    expect(response.statusCode, response.body).toBe(status);
    return response.json() as Json;
  }

  /** A member who turned 1,500 points into $15.00 of store credit ("100 points = $1"). */
  async function memberWithCredit(): Promise<{ shop: TestShop; memberId: string; redemption: Json }> {
    const shop = await createShop(t());
    const reward = await json(shop.secretKey, "POST", "/v1/rewards", 201, {
      type: "store_credit",
      name: { en: "Store credit" },
      value: {},
      cost: {
        type: "variable",
        points_per_unit: 100,
        unit: { amount: 100, currency: "USD" },
        min_points: 500,
        max_points: 5000,
        step_points: 100,
      },
    });
    const member = await json(shop.secretKey, "POST", "/v1/members", 201, {
      identifiers: [{ kind: "email", value: `credit-${++members}@example.com` }],
    });
    await json(shop.secretKey, "POST", `/v1/members/${member.id}/points/adjustments`, 201, {
      amount: 2000,
      reason: "Welcome",
    });
    const redemption = await json(shop.secretKey, "POST", `/v1/members/${member.id}/redemptions`, 201, {
      reward_id: reward.id,
      points: 1500,
    });
    return { shop, memberId: member.id, redemption };
  }

  it("holds what a store-credit redemption gave, with the entry that gave it", async () => {
    const { shop, memberId, redemption } = await memberWithCredit();
    expect(redemption).toMatchObject({ status: "used", code: null, points: 1500 });
    const credit = await json(shop.secretKey, "GET", `/v1/members/${memberId}/store-credit`, 200);
    expect(credit.balances).toEqual([{ amount: 1500, currency: "USD" }]);
    expect(credit.entries).toEqual([
      expect.objectContaining({
        amount: { amount: 1500, currency: "USD" },
        redemption_id: redemption.id,
        order_id: null,
      }),
    ]);
    expect(credit.next_cursor).toBeNull();
  });

  it("spends credit on an order once, answering a retry with the first spend", async () => {
    const { shop, memberId } = await memberWithCredit();
    const url = `/v1/members/${memberId}/store-credit/spend`;
    const body = { amount: { amount: 1200, currency: "USD" }, order_id: "1001" };
    const spent = await json(shop.secretKey, "POST", url, 200, body);
    expect(spent).toMatchObject({ replayed: false, balance: { amount: 300, currency: "USD" } });
    expect(spent.entry).toMatchObject({ amount: { amount: -1200, currency: "USD" }, order_id: "1001" });
    const again = await json(shop.secretKey, "POST", url, 200, body);
    expect(again).toMatchObject({ replayed: true, balance: { amount: 300, currency: "USD" } });
    expect(again.entry.id).toBe(spent.entry.id);

    const conflict = await t().app.inject({
      method: "POST",
      url,
      headers: bearer(shop.secretKey),
      payload: { ...body, amount: { amount: 100, currency: "USD" } },
    });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe("store_credit_conflict");

    const tooMuch = await t().app.inject({
      method: "POST",
      url,
      headers: bearer(shop.secretKey),
      payload: { amount: { amount: 301, currency: "USD" }, order_id: "1002" },
    });
    expect(tooMuch.statusCode).toBe(422);
    expect(tooMuch.json().errors).toEqual([
      { pointer: "/body/amount", message: "exceeds the member's store credit of 300 USD minor units" },
    ]);
    const credit = await json(shop.secretKey, "GET", `/v1/members/${memberId}/store-credit`, 200);
    expect(credit.balances).toEqual([{ amount: 300, currency: "USD" }]);
    expect(credit.entries).toHaveLength(2);
  });

  it("never lets two concurrent spends take the same credit", async () => {
    const { shop, memberId } = await memberWithCredit();
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        t().app.inject({
          method: "POST",
          url: `/v1/members/${memberId}/store-credit/spend`,
          headers: bearer(shop.secretKey),
          payload: { amount: { amount: 400, currency: "USD" }, order_id: `order-${index}` },
        }),
      ),
    );
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 422)).toHaveLength(7);
    const credit = await json(shop.secretKey, "GET", `/v1/members/${memberId}/store-credit`, 200);
    expect(credit.balances).toEqual([{ amount: 300, currency: "USD" }]);
  });

  it("refuses bad input and another shop's key, changing nothing", async () => {
    const { shop, memberId } = await memberWithCredit();
    const other = await createShop(t());
    const url = `/v1/members/${memberId}/store-credit/spend`;
    for (const payload of [
      { amount: { amount: 0, currency: "USD" }, order_id: "1" },
      { amount: { amount: 100, currency: "usd" }, order_id: "1" },
      { amount: { amount: 100, currency: "USD" } },
      { amount: 100, order_id: "1" },
    ]) {
      const response = await t().app.inject({ method: "POST", url, headers: bearer(shop.secretKey), payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.headers["content-type"]).toContain("application/problem+json");
    }
    for (const [method, path] of [
      ["GET", `/v1/members/${memberId}/store-credit`],
      ["POST", url],
    ] as const) {
      const response = await t().app.inject({
        method,
        url: path,
        headers: bearer(other.secretKey),
        ...(method === "POST" ? { payload: { amount: { amount: 100, currency: "USD" }, order_id: "x" } } : {}),
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe("member_not_found");
    }
    const credit = await json(shop.secretKey, "GET", `/v1/members/${memberId}/store-credit`, 200);
    expect(credit.balances).toEqual([{ amount: 1500, currency: "USD" }]);
    expect(credit.entries).toHaveLength(1);
  });
});
