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

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field; expect() checks them.
type Json = Record<string, any>;
type Method = "GET" | "POST" | "PUT" | "DELETE";

const usd = (amount: number) => ({ amount, currency: "USD" });

const secretReward = {
  type: "amount_off",
  name: { en: "Shop A secret reward" },
  description: { en: "Only for shop A" },
  value: { amounts: [usd(500)] },
  cost: { type: "fixed", points: 500 },
  stock: 10,
  code: { prefix: "SHOPA-" },
};

function harness(t: () => TestApp) {
  function send(
    method: Method,
    headers: Record<string, string>,
    url: string,
    payload?: unknown,
  ): Promise<LightMyRequestResponse> {
    return t().app.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }
  async function ok(response: Promise<LightMyRequestResponse>, status = 200): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.json() as Json;
  }
  const as = (shop: TestShop) => bearer(shop.secretKey);

  /** Shop A with a reward, a member, an issued code, a used code and store credit. */
  async function shopWithEverything() {
    const shop = await createShop(t());
    const memberId = (await ok(send("POST", as(shop), "/v1/members", {}), 201)).id as string;
    await ok(
      send("POST", as(shop), `/v1/members/${memberId}/points/adjustments`, { amount: 5000, reason: "Test" }),
      201,
    );
    const reward = await ok(send("POST", as(shop), "/v1/rewards", secretReward), 201);
    const credit = await ok(
      send("POST", as(shop), "/v1/rewards", {
        type: "store_credit",
        name: { en: "Shop A credit" },
        value: { amounts: [usd(1000)] },
        cost: { type: "fixed", points: 1000 },
      }),
      201,
    );
    const redeem = (rewardId: string) =>
      ok(send("POST", as(shop), `/v1/members/${memberId}/redemptions`, { reward_id: rewardId }), 201);
    const issued = await redeem(reward.id);
    const used = await redeem(reward.id);
    await ok(
      send("POST", as(shop), "/v1/codes/consume", {
        code: used.code,
        order_id: "order-a",
        cart: { total: 5000, currency: "USD" },
      }),
    );
    const storeCredit = await redeem(credit.id);
    const token = (await ok(send("POST", as(shop), `/v1/members/${memberId}/customer-tokens`, {}), 201))
      .token as string;
    return { shop, memberId, reward, credit, issued, used, storeCredit, token };
  }

  /** What another shop's calls must leave exactly as it was. */
  async function state(a: Awaited<ReturnType<typeof shopWithEverything>>) {
    const db = t().database.db;
    const get = (url: string) => ok(send("GET", as(a.shop), url));
    const count = async (
      table: "rewards" | "redemptions" | "outbox" | "ledger_transactions" | "store_credit_entries",
    ) =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      reward: await get(`/v1/rewards/${a.reward.id}`),
      rewards: await get("/v1/rewards?limit=100"),
      redemptions: await get(`/v1/members/${a.memberId}/redemptions?limit=100`),
      points: await get(`/v1/members/${a.memberId}/points`),
      storeCredit: await db.selectFrom("store_credit_balances").selectAll().orderBy("shop_id").execute(),
      counts: {
        rewards: await count("rewards"),
        redemptions: await count("redemptions"),
        outbox: await count("outbox"),
        transactions: await count("ledger_transactions"),
        storeCredit: await count("store_credit_entries"),
      },
    };
  }

  /** Nothing of shop A's in an answer to someone else. */
  function expectNoLeak(
    response: LightMyRequestResponse,
    a: Awaited<ReturnType<typeof shopWithEverything>>,
    label: string,
  ) {
    // What the caller sent may come back in the detail ("No reward rwd_… in this shop"); nothing else may.
    const sent = (secret: string) => label.includes(secret);
    for (const secret of [
      a.reward.id,
      a.credit.id,
      a.issued.code,
      a.used.code,
      a.issued.transaction_id,
      "Shop A secret reward",
      "Only for shop A",
      "order-a",
    ].filter((secret) => !sent(secret))) {
      expect(response.body, label).not.toContain(secret);
    }
  }

  return { send, ok, as, shopWithEverything, state, expectNoLeak };
}

describeEachDialect("rewards tenancy", (dialect) => {
  const t = useTestApp(dialect, { rateLimitPerSecond: 0 });
  const h = harness(t);

  it("answers another shop's secret key with 404 on every rewards endpoint and changes nothing", async () => {
    const a = await h.shopWithEverything();
    const b = await createShop(t());
    const bMember = (await h.ok(h.send("POST", h.as(b), "/v1/members", {}), 201)).id as string;
    await h.ok(
      h.send("POST", h.as(b), `/v1/members/${bMember}/points/adjustments`, { amount: 5000, reason: "Test" }),
      201,
    );
    const before = await h.state(a);

    const cart = { total: 5000, currency: "USD" };
    const attempts: Array<[Method, string, Json | undefined, string]> = [
      ["GET", `/v1/rewards/${a.reward.id}`, undefined, "reward_not_found"],
      ["PUT", `/v1/rewards/${a.reward.id}`, { ...secretReward, name: { en: "Taken over" } }, "reward_not_found"],
      ["POST", `/v1/rewards/${a.reward.id}/enable`, undefined, "reward_not_found"],
      ["POST", `/v1/rewards/${a.reward.id}/disable`, undefined, "reward_not_found"],
      ["DELETE", `/v1/rewards/${a.reward.id}`, undefined, "reward_not_found"],
      ["POST", `/v1/members/${a.memberId}/redemptions`, { reward_id: a.reward.id }, "member_not_found"],
      ["POST", `/v1/members/${bMember}/redemptions`, { reward_id: a.reward.id }, "reward_not_found"],
      ["POST", `/v1/members/${bMember}/redemptions`, { reward_id: a.credit.id }, "reward_not_found"],
      ["GET", `/v1/members/${a.memberId}/redemptions`, undefined, "member_not_found"],
      ["GET", `/v1/redemptions/${a.issued.id}`, undefined, "redemption_not_found"],
      ["GET", `/v1/redemptions/${a.storeCredit.id}`, undefined, "redemption_not_found"],
      ["POST", `/v1/redemptions/${a.issued.id}/cancel`, { reason: "B cancels" }, "redemption_not_found"],
      ["POST", `/v1/redemptions/${a.storeCredit.id}/cancel`, { reason: "B cancels" }, "redemption_not_found"],
      ["POST", "/v1/codes/validate", { code: a.issued.code, cart }, "code_not_found"],
      ["POST", "/v1/codes/validate", { code: a.used.code, cart }, "code_not_found"],
      ["POST", "/v1/codes/consume", { code: a.issued.code, order_id: "order-b", cart }, "code_not_found"],
      ["POST", "/v1/codes/consume", { code: a.used.code, order_id: "order-a", cart }, "code_not_found"],
      ["POST", "/v1/codes/release", { code: a.used.code, order_id: "order-a" }, "code_not_found"],
    ];
    for (const [method, url, payload, code] of attempts) {
      const label = `${method} ${url} ${JSON.stringify(payload ?? null)}`;
      const response = await h.send(method, h.as(b), url, payload);
      expect(response.statusCode, `${label}: ${response.body}`).toBe(404);
      expect(response.headers["content-type"], label).toMatch(/^application\/problem\+json/);
      expect(response.json().code, label).toBe(code);
      h.expectNoLeak(response, a, label);
    }
    // B's own catalog and redemptions hold nothing of A's.
    const catalog = await h.send("GET", h.as(b), "/v1/rewards?limit=100");
    expect(catalog.json()).toEqual({ data: [], has_more: false, next_cursor: null });
    for (const status of ["active", "disabled", "archived"]) {
      const listed = await h.send("GET", h.as(b), `/v1/rewards?status=${status}`);
      expect(listed.json().data, status).toEqual([]);
    }
    expect((await h.ok(h.send("GET", h.as(b), `/v1/members/${bMember}/redemptions`))).data).toEqual([]);

    expect(await h.state(a)).toEqual(before);
    expect((await h.ok(h.send("GET", h.as(b), `/v1/members/${bMember}/points`))).available).toBe(5000);
  });

  it("keeps the storefront to the shop of the key and the token", async () => {
    const a = await h.shopWithEverything();
    const b = await createShop(t());
    const bMember = (await h.ok(h.send("POST", h.as(b), "/v1/members", {}), 201)).id as string;
    await h.ok(
      h.send("POST", h.as(b), `/v1/members/${bMember}/points/adjustments`, { amount: 5000, reason: "Test" }),
      201,
    );
    const bToken = (await h.ok(h.send("POST", h.as(b), `/v1/members/${bMember}/customer-tokens`, {}), 201))
      .token as string;
    const before = await h.state(a);

    const storefront: Array<[Method, string, Json | undefined]> = [
      ["GET", "/v1/me/rewards", undefined],
      ["GET", "/v1/me/redemptions", undefined],
      ["POST", "/v1/me/redemptions", { reward_id: a.reward.id }],
    ];
    // A's token with B's key, and B's token with A's key: the token does not belong to the key's shop.
    for (const [key, token] of [
      [b.publishableKey, a.token],
      [a.shop.publishableKey, bToken],
      [b.secretKey, a.token],
    ] as const) {
      for (const [method, url, payload] of storefront) {
        const label = `${method} ${url}`;
        const response = await h.send(method, { ...bearer(key), "x-laurel-customer-token": token }, url, payload);
        expect(response.statusCode, `${label}: ${response.body}`).toBe(401);
        expect(response.json().code, label).toBe("invalid_customer_token");
        h.expectNoLeak(response, a, label);
      }
    }

    // B's shopper, through B's key, sees only B's catalog and cannot redeem A's reward.
    const headers = { ...bearer(b.publishableKey), "x-laurel-customer-token": bToken };
    const catalog = await h.send("GET", headers, "/v1/me/rewards");
    expect(catalog.statusCode).toBe(200);
    expect(catalog.json()).toEqual({ data: [] });
    const redeem = await h.send("POST", headers, "/v1/me/redemptions", { reward_id: a.reward.id });
    expect(redeem.statusCode).toBe(404);
    expect(redeem.json().code).toBe("reward_not_found");
    h.expectNoLeak(redeem, a, `POST /v1/me/redemptions ${a.reward.id}`);
    expect(await h.ok(h.send("GET", headers, "/v1/me/redemptions"))).toEqual({
      data: [],
      has_more: false,
      next_cursor: null,
    });

    expect(await h.state(a)).toEqual(before);
    expect((await h.ok(h.send("GET", h.as(b), `/v1/members/${bMember}/points`))).available).toBe(5000);
  });

  it("keeps Idempotency-Keys per shop", async () => {
    const a = await h.shopWithEverything();
    const b = await createShop(t());
    const bMember = (await h.ok(h.send("POST", h.as(b), "/v1/members", {}), 201)).id as string;
    await h.ok(
      h.send("POST", h.as(b), `/v1/members/${bMember}/points/adjustments`, { amount: 5000, reason: "Test" }),
      201,
    );
    const bReward = await h.ok(h.send("POST", h.as(b), "/v1/rewards", { ...secretReward, name: { en: "B's" } }), 201);
    const key = { "idempotency-key": "shared-key" };
    const fromA = await h.send("POST", { ...h.as(a.shop), ...key }, `/v1/members/${a.memberId}/redemptions`, {
      reward_id: a.reward.id,
    });
    expect(fromA.statusCode, fromA.body).toBe(201);
    // The same key and even the same path in shop B is a new request there.
    const fromB = await h.send("POST", { ...h.as(b), ...key }, `/v1/members/${a.memberId}/redemptions`, {
      reward_id: a.reward.id,
    });
    expect(fromB.statusCode).toBe(404);
    expect(fromB.headers["idempotent-replayed"]).toBeUndefined();
    h.expectNoLeak(fromB, a, "replay across shops");
    const ownB = await h.send(
      "POST",
      { ...h.as(b), "idempotency-key": "shared-key-2" },
      `/v1/members/${bMember}/redemptions`,
      {
        reward_id: bReward.id,
      },
    );
    expect(ownB.statusCode).toBe(201);
    expect(ownB.json()).toMatchObject({ member_id: bMember, reward_id: bReward.id });
  });

  it("asks for a key on every rewards endpoint", async () => {
    const a = await h.shopWithEverything();
    const before = await h.state(a);
    const cart = { total: 5000, currency: "USD" };
    const endpoints: Array<[Method, string, Json | undefined]> = [
      ["POST", "/v1/rewards", secretReward],
      ["GET", "/v1/rewards", undefined],
      ["GET", `/v1/rewards/${a.reward.id}`, undefined],
      ["PUT", `/v1/rewards/${a.reward.id}`, secretReward],
      ["POST", `/v1/rewards/${a.reward.id}/enable`, undefined],
      ["POST", `/v1/rewards/${a.reward.id}/disable`, undefined],
      ["DELETE", `/v1/rewards/${a.reward.id}`, undefined],
      ["POST", `/v1/members/${a.memberId}/redemptions`, { reward_id: a.reward.id }],
      ["GET", `/v1/members/${a.memberId}/redemptions`, undefined],
      ["GET", `/v1/redemptions/${a.issued.id}`, undefined],
      ["POST", `/v1/redemptions/${a.issued.id}/cancel`, { reason: "No key" }],
      ["POST", "/v1/codes/validate", { code: a.issued.code, cart }],
      ["POST", "/v1/codes/consume", { code: a.issued.code, order_id: "order-x", cart }],
      ["POST", "/v1/codes/release", { code: a.used.code, order_id: "order-a" }],
      ["GET", "/v1/me/rewards", undefined],
      ["GET", "/v1/me/redemptions", undefined],
      ["POST", "/v1/me/redemptions", { reward_id: a.reward.id }],
    ];
    for (const [method, url, payload] of endpoints) {
      const label = `${method} ${url}`;
      const missing = await h.send(method, { "x-laurel-customer-token": a.token }, url, payload);
      expect(missing.statusCode, `${label}: ${missing.body}`).toBe(401);
      expect(missing.headers["content-type"], label).toMatch(/^application\/problem\+json/);
      expect(missing.json().code, label).toBe("missing_api_key");
      h.expectNoLeak(missing, a, label);
      const wrong = await h.send(
        method,
        { ...bearer("sk_test_notakey"), "x-laurel-customer-token": a.token },
        url,
        payload,
      );
      expect(wrong.statusCode, `${label}: ${wrong.body}`).toBe(401);
      expect(wrong.json().code, label).toBe("invalid_api_key");
      h.expectNoLeak(wrong, a, label);
    }
    expect(await h.state(a)).toEqual(before);
  });
});
