import { expect, it } from "vitest";
import { createShop, describeEachDialect, type TestShop, useTestApp } from "../../../test/support/app.js";
import { apiCalls, type Json, type Method } from "../../../test/support/http.js";

describeEachDialect("store credit", (dialect) => {
  const t = useTestApp(dialect);
  let members = 0;

  const { send, ok, problem } = apiCalls(t);
  const json = (token: string, method: Method, url: string, status: number, payload?: Json) =>
    ok(send(method, token, url, payload), status);

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

    await problem(
      send("POST", shop.secretKey, url, { ...body, amount: { amount: 100, currency: "USD" } }),
      409,
      "store_credit_conflict",
    );

    const tooMuch = await problem(
      send("POST", shop.secretKey, url, { amount: { amount: 301, currency: "USD" }, order_id: "1002" }),
      422,
      "invalid_field_value",
    );
    expect(tooMuch.errors).toEqual([
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
        send("POST", shop.secretKey, `/v1/members/${memberId}/store-credit/spend`, {
          amount: { amount: 400, currency: "USD" },
          order_id: `order-${index}`,
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
      await problem(send("POST", shop.secretKey, url, payload), 400, "validation_failed");
    }
    for (const [method, path] of [
      ["GET", `/v1/members/${memberId}/store-credit`],
      ["POST", url],
    ] as const) {
      const payload = method === "POST" ? { amount: { amount: 100, currency: "USD" }, order_id: "x" } : undefined;
      await problem(send(method, other.secretKey, path, payload), 404, "member_not_found");
    }
    const credit = await json(shop.secretKey, "GET", `/v1/members/${memberId}/store-credit`, 200);
    expect(credit.balances).toEqual([{ amount: 1500, currency: "USD" }]);
    expect(credit.entries).toHaveLength(1);
  });
});
