import { createHmac } from "node:crypto";
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

type Response = LightMyRequestResponse;
type Json = Record<string, unknown>;
type Method = "GET" | "POST" | "PATCH";

const day = 24 * 60 * 60;

function expectProblem(response: Response, status: number, code: string): Json {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const problem = response.json() as Json;
  expect(problem).toMatchObject({ type: `urn:laurel:problem:${code}`, status, code });
  return problem;
}

/** The documented recipe, written out with node:crypto alone (docs/members.md). */
function signAsDocumented(secret: string, shopId: string, subject: string, expires: number): string {
  const signature = createHmac("sha256", secret).update(`${shopId}.${subject}.${expires}`).digest("hex");
  return `${subject}.${expires}.${signature}`;
}

function harness(t: () => TestApp) {
  async function ok(response: Promise<Response> | Response, status: number): Promise<Json> {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    return done.json() as Json;
  }

  function call(
    key: string,
    method: Method,
    url: string,
    options: { payload?: object; headers?: Record<string, string>; remoteAddress?: string } = {},
  ): Promise<Response> {
    return t().app.inject({
      method,
      url,
      headers: { ...bearer(key), ...options.headers },
      ...(options.payload === undefined ? {} : { payload: options.payload }),
      ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
    });
  }

  /** A storefront call: the key plus the shopper's customer token. */
  function me(
    key: string,
    token: string,
    method: Method,
    url: string,
    options: { payload?: object; headers?: Record<string, string>; remoteAddress?: string } = {},
  ): Promise<Response> {
    return call(key, method, url, { ...options, headers: { "x-laurel-customer-token": token, ...options.headers } });
  }

  async function newMember(shop: TestShop, body: Json = {}): Promise<string> {
    return (await ok(call(shop.secretKey, "POST", "/v1/members", { payload: body }), 201)).id as string;
  }

  async function mint(shop: TestShop, memberId: string, body: Json = {}): Promise<string> {
    const minted = await ok(
      call(shop.secretKey, "POST", `/v1/members/${memberId}/customer-tokens`, { payload: body }),
      201,
    );
    return minted.token as string;
  }

  async function secretOf(shop: TestShop): Promise<string> {
    return (await ok(call(shop.secretKey, "GET", "/v1/shop/customer-token-secret"), 200)).secret as string;
  }

  function nowSeconds(): number {
    return Math.floor(t().clock.now().getTime() / 1000);
  }

  return { ok, call, me, newMember, mint, secretOf, nowSeconds };
}

describeEachDialect("storefront identity", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);

  it("mints a token that opens /v1/me with the publishable key, showing what the secret-key API shows", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop, {
      given_name: "Ana",
      identifiers: [{ kind: "email", value: "ana@example.com" }],
    });
    await h.ok(
      h.call(shop.secretKey, "POST", `/v1/members/${memberId}/points/adjustments`, {
        payload: { amount: 250, reason: "Welcome" },
      }),
      201,
    );

    const minted = await h.ok(h.call(shop.secretKey, "POST", `/v1/members/${memberId}/customer-tokens`), 201);
    expect(minted).toEqual({
      object: "customer_token",
      token: expect.stringMatching(new RegExp(`^${memberId}\\.\\d+\\.[0-9a-f]{64}$`)),
      member_id: memberId,
      expires_at: new Date(h.nowSeconds() * 1000 + 3600_000).toISOString(),
    });
    const token = minted.token as string;

    const mine = await h.me(shop.publishableKey, token, "GET", "/v1/me");
    expect(mine.headers["cache-control"]).toBe("private, no-store");
    expect(await h.ok(mine, 200)).toEqual(await h.ok(h.call(shop.secretKey, "GET", `/v1/members/${memberId}`), 200));
    expect(await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me/points"), 200)).toEqual(
      await h.ok(h.call(shop.secretKey, "GET", `/v1/members/${memberId}/points`), 200),
    );
    const history = await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me/points/transactions?limit=10"), 200);
    expect(history).toEqual(
      await h.ok(h.call(shop.secretKey, "GET", `/v1/members/${memberId}/points/transactions?limit=10`), 200),
    );
    expect(history.data).toHaveLength(1);

    // A secret key is a storefront backend acting as the shopper: the token still decides who.
    expect((await h.ok(h.me(shop.secretKey, token, "GET", "/v1/me"), 200)).id).toBe(memberId);
  });

  it("paginates the shopper's points history", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop);
    for (const amount of [10, 20, 30]) {
      await h.ok(
        h.call(shop.secretKey, "POST", `/v1/members/${memberId}/points/adjustments`, {
          payload: { amount, reason: "Test" },
        }),
        201,
      );
    }
    const token = await h.mint(shop, memberId);
    const first = await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me/points/transactions?limit=2"), 200);
    expect((first.data as Json[]).map((transaction) => transaction.amount)).toEqual([30, 20]);
    expect(first.has_more).toBe(true);
    const second = await h.ok(
      h.me(shop.publishableKey, token, "GET", `/v1/me/points/transactions?limit=2&cursor=${first.next_cursor}`),
      200,
    );
    expect((second.data as Json[]).map((transaction) => transaction.amount)).toEqual([10]);
    expect(second).toMatchObject({ has_more: false, next_cursor: null });
    const earnedOnly = await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me/points/transactions?type=earn"), 200);
    expect(earnedOnly.data).toEqual([]);
    expectProblem(
      await h.me(shop.publishableKey, token, "GET", "/v1/me/points/transactions?member_id=x"),
      400,
      "validation_failed",
    );
  });

  it("accepts tokens signed by the documented recipe for member ids and platform customer ids", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop, {
      identifiers: [
        { kind: "shopify", value: "7012345678901" },
        { kind: "woocommerce", value: "45" },
        { kind: "external", value: "crm.user-9" },
      ],
    });
    const secret = await h.secretOf(shop);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const expires = h.nowSeconds() + 3600;
    for (const subject of [memberId, "shopify:7012345678901", "woocommerce:45", "external:crm.user-9"]) {
      const token = signAsDocumented(secret, shop.shop.id, subject, expires);
      const body = await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me"), 200);
      expect(body.id, subject).toBe(memberId);
    }
    // Signatures are hex; Laurel reads them in either case.
    const upper = signAsDocumented(secret, shop.shop.id, "shopify:7012345678901", expires).replace(
      /[0-9a-f]{64}$/,
      (signature) => signature.toUpperCase(),
    );
    expect((await h.ok(h.me(shop.publishableKey, upper, "GET", "/v1/me"), 200)).id).toBe(memberId);
  });

  it("refuses wrong signatures, tampered subjects and expiries, and malformed or unknown tokens", async () => {
    const shop = await createShop(t());
    const alice = await h.newMember(shop, { identifiers: [{ kind: "shopify", value: "111" }] });
    const bob = await h.newMember(shop);
    const secret = await h.secretOf(shop);
    const expires = h.nowSeconds() + 3600;
    const good = signAsDocumented(secret, shop.shop.id, alice, expires);
    const signature = good.split(".").at(-1) as string;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;

    const refused = [
      `${alice}.${expires}.${flipped}`,
      `${bob}.${expires}.${signature}`,
      `${alice}.${expires + 1}.${signature}`,
      signAsDocumented("not-the-secret", shop.shop.id, alice, expires),
      signAsDocumented(secret, "shop_00000000000000000000000000", alice, expires),
      signAsDocumented(secret, shop.shop.id, "shopify:222", expires),
      signAsDocumented(secret, shop.shop.id, "mem_00000000000000000000000000", expires),
      signAsDocumented(secret, shop.shop.id, "email:ana@example.com", expires),
      signAsDocumented(secret, shop.shop.id, "shopify:not-a-number", expires),
      signAsDocumented(secret, shop.shop.id, alice, -1),
      `${alice}.${expires}`,
      `${alice}.${expires}.${signature}.extra`,
      `${alice}..${signature}`,
      `.${expires}.${signature}`,
      `${alice}.${expires}.${signature.slice(2)}`,
      "garbage",
      `${"x".repeat(2000)}.${expires}.${signature}`,
    ];
    for (const token of refused) {
      expectProblem(await h.me(shop.publishableKey, token, "GET", "/v1/me"), 401, "invalid_customer_token");
    }
    expect((await h.ok(h.me(shop.publishableKey, good, "GET", "/v1/me"), 200)).id).toBe(alice);
  });

  it("refuses expired tokens and tokens that expire more than 30 days ahead", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop);
    const token = await h.mint(shop, memberId, { expires_in_seconds: 120 });
    await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me"), 200);
    t().clock.advance(119_000);
    await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me"), 200);
    t().clock.advance(1_000);
    const problem = expectProblem(
      await h.me(shop.publishableKey, token, "GET", "/v1/me"),
      401,
      "invalid_customer_token",
    );
    expect(problem.detail).toContain("expired");

    const secret = await h.secretOf(shop);
    const thirtyDays = signAsDocumented(secret, shop.shop.id, memberId, h.nowSeconds() + 30 * day);
    await h.ok(h.me(shop.publishableKey, thirtyDays, "GET", "/v1/me"), 200);
    const tooFar = signAsDocumented(secret, shop.shop.id, memberId, h.nowSeconds() + 31 * day);
    expectProblem(await h.me(shop.publishableKey, tooFar, "GET", "/v1/me"), 401, "invalid_customer_token");

    const longest = await h.mint(shop, memberId, { expires_in_seconds: 30 * day });
    await h.ok(h.me(shop.publishableKey, longest, "GET", "/v1/me"), 200);
    for (const expires_in_seconds of [30 * day + 1, 59, 0, "3600"]) {
      expectProblem(
        await h.call(shop.secretKey, "POST", `/v1/members/${memberId}/customer-tokens`, {
          payload: { expires_in_seconds },
        }),
        400,
        "validation_failed",
      );
    }
  });

  it("requires a customer token with publishable and secret keys alike", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop);
    const token = await h.mint(shop, memberId);
    const routes: Array<[Method, string, object | undefined]> = [
      ["GET", "/v1/me", undefined],
      ["PATCH", "/v1/me", { given_name: "Ana" }],
      ["GET", "/v1/me/points", undefined],
      ["GET", "/v1/me/points/transactions", undefined],
      ["GET", "/v1/me/consents", undefined],
      ["POST", "/v1/me/consents", { changes: [{ purpose: "profiling", granted: true, source: "test" }] }],
    ];
    for (const [method, url, payload] of routes) {
      for (const key of [shop.publishableKey, shop.secretKey]) {
        const options = payload === undefined ? {} : { payload };
        expectProblem(await h.call(key, method, url, options), 401, "customer_token_required");
        expectProblem(
          await h.call(key, method, url, { ...options, headers: { "x-laurel-customer-token": "  " } }),
          401,
          "customer_token_required",
        );
        expectProblem(await h.me(key, `${token.slice(0, -1)}x`, method, url, options), 401, "invalid_customer_token");
      }
      // The key is checked first: a token without a key is still missing_api_key.
      const keyless = await t().app.inject({ method, url, headers: { "x-laurel-customer-token": token } });
      expectProblem(keyless, 401, "missing_api_key");
    }
  });

  it("never lets a token reach another shop, even with a matching platform id", async () => {
    const shopA = await createShop(t());
    const shopB = await createShop(t());
    const memberA = await h.newMember(shopA, { identifiers: [{ kind: "shopify", value: "5550001" }] });
    const memberB = await h.newMember(shopB, { identifiers: [{ kind: "shopify", value: "5550001" }] });
    const tokenB = await h.mint(shopB, memberB);
    expectProblem(await h.me(shopA.publishableKey, tokenB, "GET", "/v1/me"), 401, "invalid_customer_token");
    const expires = h.nowSeconds() + 3600;
    const signedByB = signAsDocumented(await h.secretOf(shopB), shopB.shop.id, "shopify:5550001", expires);
    expectProblem(await h.me(shopA.publishableKey, signedByB, "GET", "/v1/me"), 401, "invalid_customer_token");
    // Shop B's secret over shop A's id: the secret decides, not the text.
    const forgedForA = signAsDocumented(await h.secretOf(shopB), shopA.shop.id, "shopify:5550001", expires);
    expectProblem(await h.me(shopA.publishableKey, forgedForA, "GET", "/v1/me"), 401, "invalid_customer_token");
    expect((await h.ok(h.me(shopB.publishableKey, signedByB, "GET", "/v1/me"), 200)).id).toBe(memberB);

    expectProblem(
      await h.call(shopB.secretKey, "POST", `/v1/members/${memberA}/customer-tokens`),
      404,
      "member_not_found",
    );
    expectProblem(
      await h.call(shopA.publishableKey, "POST", `/v1/members/${memberA}/customer-tokens`),
      403,
      "secret_key_required",
    );
    expectProblem(
      await h.call(shopA.publishableKey, "GET", "/v1/shop/customer-token-secret"),
      403,
      "secret_key_required",
    );
    expect(await h.secretOf(shopA)).not.toBe(await h.secretOf(shopB));
  });

  it("shows member A only A's data, whatever else the request says", async () => {
    const shop = await createShop(t());
    const alice = await h.newMember(shop, { given_name: "Alice" });
    const bob = await h.newMember(shop, { given_name: "Bob" });
    await h.ok(
      h.call(shop.secretKey, "POST", `/v1/members/${bob}/points/adjustments`, {
        payload: { amount: 900, reason: "B" },
      }),
      201,
    );
    await h.ok(
      h.call(shop.secretKey, "POST", `/v1/members/${bob}/consents`, {
        payload: { changes: [{ purpose: "email_marketing", granted: true, channel: "web", source: "b" }] },
      }),
      201,
    );
    const tokenA = await h.mint(shop, alice);

    const member = await h.ok(h.me(shop.publishableKey, tokenA, "GET", `/v1/me?id=${bob}`), 200);
    expect(member).toMatchObject({ id: alice, given_name: "Alice" });
    expect(await h.ok(h.me(shop.publishableKey, tokenA, "GET", "/v1/me/points"), 200)).toMatchObject({
      member_id: alice,
      available: 0,
    });
    expect((await h.ok(h.me(shop.publishableKey, tokenA, "GET", "/v1/me/points/transactions"), 200)).data).toEqual([]);
    const consents = await h.ok(h.me(shop.publishableKey, tokenA, "GET", "/v1/me/consents"), 200);
    expect(consents.member_id).toBe(alice);
    expect((consents.purposes as Json[]).every((purpose) => purpose.granted === false)).toBe(true);
    expectProblem(
      await h.me(shop.publishableKey, tokenA, "PATCH", "/v1/me", { payload: { id: bob, given_name: "X" } }),
      400,
      "validation_failed",
    );
    expectProblem(await h.me(shop.publishableKey, tokenA, "GET", `/v1/me/${bob}`), 404, "route_not_found");
    expect((await h.ok(h.call(shop.secretKey, "GET", `/v1/members/${bob}`), 200)).given_name).toBe("Bob");

    // Shoppers share the publishable key and the path: an Idempotency-Key one shopper used must
    // never replay their response to another.
    const tokenB = await h.mint(shop, bob);
    const payload = { changes: [{ purpose: "sms_marketing", granted: true, source: "account_page" }] };
    const headers = { "idempotency-key": "same-key-from-two-browsers" };
    const first = await h.ok(h.me(shop.publishableKey, tokenA, "POST", "/v1/me/consents", { payload, headers }), 201);
    expect(first.member_id).toBe(alice);
    const second = await h.me(shop.publishableKey, tokenB, "POST", "/v1/me/consents", { payload, headers });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.headers["idempotent-replayed"]).toBeUndefined();
    expect(second.json().member_id).toBe(bob);
    const replay = await h.me(shop.publishableKey, tokenA, "POST", "/v1/me/consents", { payload, headers });
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json()).toEqual(first);
  });

  it("stops every earlier token when the secret is rotated", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop, { identifiers: [{ kind: "shopify", value: "8080" }] });
    const before = await h.secretOf(shop);
    const minted = await h.mint(shop, memberId);
    const signed = signAsDocumented(before, shop.shop.id, "shopify:8080", h.nowSeconds() + 3600);
    await h.ok(h.me(shop.publishableKey, minted, "GET", "/v1/me"), 200);

    const rotated = await h.ok(h.call(shop.secretKey, "POST", "/v1/shop/customer-token-secret/rotate"), 200);
    expect(rotated).toEqual({ object: "customer_token_secret", secret: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(rotated.secret).not.toBe(before);
    expect(await h.secretOf(shop)).toBe(rotated.secret);
    for (const token of [minted, signed]) {
      expectProblem(await h.me(shop.publishableKey, token, "GET", "/v1/me"), 401, "invalid_customer_token");
    }
    const fresh = signAsDocumented(rotated.secret as string, shop.shop.id, "shopify:8080", h.nowSeconds() + 3600);
    await h.ok(h.me(shop.publishableKey, fresh, "GET", "/v1/me"), 200);
    await h.ok(h.me(shop.publishableKey, await h.mint(shop, memberId), "GET", "/v1/me"), 200);
  });

  it("refuses tokens of cancelled members and will not mint for them", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop, { identifiers: [{ kind: "woocommerce", value: "77" }] });
    const token = await h.mint(shop, memberId);
    const signed = signAsDocumented(await h.secretOf(shop), shop.shop.id, "woocommerce:77", h.nowSeconds() + 3600);
    await h.ok(h.call(shop.secretKey, "PATCH", `/v1/members/${memberId}`, { payload: { status: "suspended" } }), 200);
    await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me"), 200);
    await h.ok(
      t().app.inject({ method: "DELETE", url: `/v1/members/${memberId}`, headers: bearer(shop.secretKey) }),
      200,
    );
    for (const candidate of [token, signed]) {
      const problem = expectProblem(
        await h.me(shop.publishableKey, candidate, "GET", "/v1/me"),
        401,
        "invalid_customer_token",
      );
      expect(problem.detail).toContain("cancelled");
    }
    expectProblem(
      await h.call(shop.secretKey, "POST", `/v1/members/${memberId}/customer-tokens`),
      422,
      "invalid_field_value",
    );
  });

  it("acts for the surviving member when the token names a merged duplicate", async () => {
    const shop = await createShop(t());
    const survivor = await h.newMember(shop, { given_name: "Survivor" });
    const duplicate = await h.newMember(shop);
    const token = await h.mint(shop, duplicate);
    // What a merge leaves behind: the duplicate cancelled and pointing at the survivor.
    await t()
      .database.db.updateTable("members")
      .set({ status: "cancelled", merged_into_member_id: survivor })
      .where("shop_id", "=", shop.shop.id)
      .where("id", "=", duplicate)
      .execute();
    expect(await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me"), 200)).toMatchObject({
      id: survivor,
      given_name: "Survivor",
    });
    const problem = expectProblem(
      await h.call(shop.secretKey, "POST", `/v1/members/${duplicate}/customer-tokens`),
      422,
      "invalid_field_value",
    );
    expect(problem.detail).toContain(survivor);
  });

  it("lets the shopper change their profile, never their status or identifiers", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop, { identifiers: [{ kind: "email", value: "kenji@example.com" }] });
    const token = await h.mint(shop, memberId);
    const changed = await h.ok(
      h.me(shop.publishableKey, token, "PATCH", "/v1/me", {
        payload: {
          given_name: "健二",
          family_name: "山田",
          name_order: "family_first",
          birthday: { month: 2, day: 29 },
          locale: "ja-jp",
          country: "JP",
          marketing_preferences: { topics: ["coffee"] },
        },
      }),
      200,
    );
    expect(changed).toMatchObject({
      id: memberId,
      status: "active",
      given_name: "健二",
      family_name: "山田",
      name_order: "family_first",
      birthday: { month: 2, day: 29, year: null },
      locale: "ja-JP",
      country: "JP",
      marketing_preferences: { topics: ["coffee"] },
    });

    for (const payload of [
      { status: "suspended" },
      { identifiers: [{ kind: "email", value: "other@example.com" }] },
      { given_name: "Ana", status: "active" },
      { merged_into_member_id: "mem_00000000000000000000000000" },
      {},
    ]) {
      expectProblem(await h.me(shop.publishableKey, token, "PATCH", "/v1/me", { payload }), 400, "validation_failed");
    }
    expectProblem(
      await h.me(shop.publishableKey, token, "PATCH", "/v1/me", { payload: { country: "XX" } }),
      422,
      "invalid_field_value",
    );
    expectProblem(
      await h.me(shop.publishableKey, token, "PATCH", "/v1/me", { payload: { attributes: { shoe_size: 42 } } }),
      422,
      "invalid_field_value",
    );
    const after = await h.ok(h.call(shop.secretKey, "GET", `/v1/members/${memberId}`), 200);
    expect(after).toEqual(changed);
    expect(after.identifiers).toHaveLength(1);
  });

  it("records consent with the request's IP address and user agent", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop);
    const token = await h.mint(shop, memberId);
    const userAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)";
    const recorded = await h.ok(
      h.me(shop.publishableKey, token, "POST", "/v1/me/consents", {
        payload: {
          changes: [
            { purpose: "email_marketing", granted: true, source: "account_page_toggle", wording_version: "2026-01" },
            { purpose: "sms_marketing", granted: false, channel: "app", source: "app_settings" },
          ],
        },
        headers: { "user-agent": userAgent },
        remoteAddress: "203.0.113.7",
      }),
      201,
    );
    expect(recorded.member_id).toBe(memberId);
    const byPurpose = Object.fromEntries(
      (recorded.purposes as Json[]).map((entry) => [entry.purpose as string, entry]),
    );
    expect(byPurpose.email_marketing).toMatchObject({
      granted: true,
      latest: {
        channel: "web",
        status: "granted",
        source: "account_page_toggle",
        wording_version: "2026-01",
        ip_address: "203.0.113.7",
        user_agent: userAgent,
      },
    });
    expect(byPurpose.sms_marketing).toMatchObject({
      granted: false,
      latest: { channel: "app", status: "withdrawn", ip_address: "203.0.113.7", user_agent: userAgent },
    });
    expect(await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me/consents"), 200)).toEqual(recorded);
    expect(await h.ok(h.call(shop.secretKey, "GET", `/v1/members/${memberId}/consents`), 200)).toEqual(recorded);

    // A browser cannot claim another address; a backend relaying the shopper's may.
    const claimed = {
      changes: [{ purpose: "profiling", granted: true, source: "widget" }],
      ip_address: "198.51.100.1",
      user_agent: "Fake",
    };
    const refused = expectProblem(
      await h.me(shop.publishableKey, token, "POST", "/v1/me/consents", { payload: claimed }),
      422,
      "invalid_field_value",
    );
    expect((refused.errors as Json[]).map((error) => error.pointer)).toEqual(["/body/ip_address", "/body/user_agent"]);
    const relayed = await h.ok(
      h.me(shop.secretKey, token, "POST", "/v1/me/consents", { payload: claimed, remoteAddress: "10.0.0.5" }),
      201,
    );
    expect((relayed.purposes as Json[]).find((entry) => entry.purpose === "profiling")).toMatchObject({
      granted: true,
      latest: { ip_address: "198.51.100.1", user_agent: "Fake" },
    });

    for (const payload of [
      { changes: [] },
      { changes: [{ purpose: "profiling", granted: true }] },
      { changes: [{ purpose: "profiling", granted: "yes", source: "x" }] },
      { changes: [{ purpose: "profiling", granted: true, source: "x" }], member_id: memberId },
    ]) {
      expectProblem(
        await h.me(shop.publishableKey, token, "POST", "/v1/me/consents", { payload }),
        400,
        "validation_failed",
      );
    }
  });

  it("refuses malformed JSON, wrong types, unknown fields and huge bodies on every writing route", async () => {
    const shop = await createShop(t());
    const memberId = await h.newMember(shop);
    const token = await h.mint(shop, memberId);
    const headers = { ...bearer(shop.publishableKey), "x-laurel-customer-token": token };
    const routes: Array<[Method, string, Record<string, string>]> = [
      ["PATCH", "/v1/me", headers],
      ["POST", "/v1/me/consents", headers],
      ["POST", `/v1/members/${memberId}/customer-tokens`, bearer(shop.secretKey)],
      ["POST", "/v1/shop/customer-token-secret/rotate", bearer(shop.secretKey)],
    ];
    const secret = await h.secretOf(shop);
    for (const [method, url, auth] of routes) {
      const send = (payload: string) =>
        t().app.inject({ method, url, headers: { ...auth, "content-type": "application/json" }, payload });
      expectProblem(await send("{"), 400, "malformed_json");
      expectProblem(await send("null"), 400, "validation_failed");
      expectProblem(await send("[]"), 400, "validation_failed");
      expectProblem(await send(JSON.stringify({ unknown_field: 1 })), 400, "validation_failed");
      expectProblem(await send(JSON.stringify({ given_name: "x".repeat(2_000_000) })), 413, "payload_too_large");
    }
    expectProblem(
      await h.me(shop.publishableKey, token, "PATCH", "/v1/me", { payload: { given_name: 5, birthday: "April" } }),
      400,
      "validation_failed",
    );
    // Nothing above changed the secret or the member.
    expect(await h.secretOf(shop)).toBe(secret);
    expect((await h.ok(h.me(shop.publishableKey, token, "GET", "/v1/me"), 200)).given_name).toBeNull();
  });

  it("documents the storefront routes for publishable keys and the token routes for secret keys", async () => {
    const document = (await t().app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, { security?: Array<Record<string, unknown>>; parameters?: Json[] }>>;
    };
    for (const [path, method] of [
      ["/v1/me", "get"],
      ["/v1/me", "patch"],
      ["/v1/me/points", "get"],
      ["/v1/me/points/transactions", "get"],
      ["/v1/me/consents", "get"],
      ["/v1/me/consents", "post"],
    ] as const) {
      const operation = document.paths[path]?.[method];
      expect(operation?.security, `${method} ${path}`).toEqual([{ publishableKey: [] }, { secretKey: [] }]);
      expect(operation?.parameters).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ in: "header", name: "x-laurel-customer-token", required: true }),
        ]),
      );
    }
    for (const [path, method] of [
      ["/v1/members/{id}/customer-tokens", "post"],
      ["/v1/shop/customer-token-secret", "get"],
      ["/v1/shop/customer-token-secret/rotate", "post"],
    ] as const) {
      expect(document.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ secretKey: [] }]);
    }
  });
});
