import { describe, expect, it } from "vitest";
import { bearer, createShop, describeEachDialect, type TestShop, useTestApp } from "../../test/support/app.js";
import { normalizeShopifyDomain, normalizeWooSiteUrl } from "./connections.js";

// biome-ignore lint/suspicious/noExplicitAny: API answers are read as loose JSON
type Json = Record<string, any>;

describe("normalizeShopifyDomain", () => {
  it.each([
    ["example.myshopify.com", "example.myshopify.com"],
    [" Example.MyShopify.COM ", "example.myshopify.com"],
    ["shop1.myshopify.io", "shop1.myshopify.io"],
    ["shop.example.com.", "shop.example.com"],
    ["https://example.myshopify.com/", "example.myshopify.com"],
    ["HTTPS://Example.myshopify.com", "example.myshopify.com"],
  ])("reads %j as %j", (raw, domain) => {
    expect(normalizeShopifyDomain(raw)).toBe(domain);
  });

  it.each([
    "",
    "example",
    "exa mple.myshopify.com",
    "-example.myshopify.com",
    "example.myshopify.com/admin",
    "https://example.myshopify.com/admin",
    "https://example.myshopify.com:8443/",
    "https://user@example.myshopify.com/",
    "example..myshopify.com",
    `${"a".repeat(64)}.myshopify.com`,
  ])("refuses %j", (raw) => {
    expect(normalizeShopifyDomain(raw)).toBeNull();
  });
});

describe("normalizeWooSiteUrl", () => {
  it.each([
    ["https://example.com/", "https://example.com/"],
    ["https://example.com", "https://example.com/"],
    ["HTTPS://Example.COM/", "https://example.com/"],
    ["http://example.com/Shop", "http://example.com/Shop/"],
    ["https://example.com:443/", "https://example.com/"],
    ["https://example.com:8443/wp/", "https://example.com:8443/wp/"],
    ["http://localhost:8080", "http://localhost:8080/"],
    [" https://bücher.example/ ", "https://xn--bcher-kva.example/"],
  ])("reads %j as %j", (raw, url) => {
    expect(normalizeWooSiteUrl(raw)).toBe(url);
  });

  it.each([
    "example.com",
    "ftp://example.com/",
    "https://",
    "https://user:pass@example.com/",
    "https://example.com/?p=1",
    "https://example.com/#top",
    "https://exa_mple/",
  ])("refuses %j", (raw) => {
    expect(normalizeWooSiteUrl(raw)).toBeNull();
  });
});

describeEachDialect("integrations API", (dialect) => {
  const t = useTestApp(dialect);

  async function send(method: "GET" | "PUT" | "DELETE", shop: TestShop | null, url: string, payload?: Json) {
    return t().app.inject({
      method,
      url,
      headers: shop === null ? {} : bearer(shop.secretKey),
      ...(payload === undefined ? {} : { payload }),
    });
  }

  async function ok(
    method: "GET" | "PUT" | "DELETE",
    shop: TestShop,
    url: string,
    status: number,
    payload?: Json,
  ): Promise<Json> {
    const response = await send(method, shop, url, payload);
    expect(response.statusCode, response.body).toBe(status);
    if (status >= 400) expect(response.headers["content-type"]).toContain("application/problem+json");
    return response.body === "" ? {} : (response.json() as Json);
  }

  it("connects, replaces, lists, reads and disconnects a store, never returning the secret", async () => {
    const shop = await createShop(t());
    const created = await ok("PUT", shop, "/v1/integrations/shopify", 201, {
      account: " Example.MyShopify.com ",
      webhook_secret: "shpss_first_secret",
    });
    expect(created).toEqual({
      object: "integration",
      platform: "shopify",
      account: "example.myshopify.com",
      webhook_secret_set: true,
      created_at: "2026-03-01T12:00:00.000Z",
      updated_at: "2026-03-01T12:00:00.000Z",
    });

    t().clock.advance(60_000);
    const replaced = await ok("PUT", shop, "/v1/integrations/shopify", 200, {
      account: "https://other.myshopify.com/",
      webhook_secret: "shpss_second_secret\n",
    });
    expect(replaced).toMatchObject({
      account: "other.myshopify.com",
      created_at: "2026-03-01T12:00:00.000Z",
      updated_at: "2026-03-01T12:01:00.000Z",
    });
    const row = await t()
      .database.db.selectFrom("shop_integrations")
      .selectAll()
      .where("shop_id", "=", shop.shop.id)
      .executeTakeFirstOrThrow();
    // Stored trimmed: a pasted newline would otherwise never verify.
    expect(row.webhook_secret).toBe("shpss_second_secret");

    const woo = await ok("PUT", shop, "/v1/integrations/woocommerce", 201, {
      account: "HTTPS://Example.com/Shop",
      webhook_secret: "wc secret",
    });
    expect(woo).toMatchObject({ platform: "woocommerce", account: "https://example.com/Shop/" });

    const list = await send("GET", shop, "/v1/integrations");
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((item: Json) => [item.platform, item.account])).toEqual([
      ["shopify", "other.myshopify.com"],
      ["woocommerce", "https://example.com/Shop/"],
    ]);
    expect(list.body).not.toContain("second_secret");
    expect(list.body).not.toContain("shpss_");
    expect(list.body).not.toContain("wc secret");
    expect(await ok("GET", shop, "/v1/integrations/woocommerce", 200)).toEqual(woo);

    await ok("DELETE", shop, "/v1/integrations/woocommerce", 204);
    expect((await ok("GET", shop, "/v1/integrations/woocommerce", 404)).code).toBe("integration_not_found");
    expect((await ok("DELETE", shop, "/v1/integrations/woocommerce", 404)).code).toBe("integration_not_found");
    expect((await ok("GET", shop, "/v1/integrations", 200)).data).toHaveLength(1);
  });

  it("refuses an account that is no shop domain or site URL, and a blank secret, storing nothing", async () => {
    const shop = await createShop(t());
    const cases: Array<[string, Json, number, string]> = [
      ["shopify", { account: "not a domain", webhook_secret: "s" }, 422, "/body/account"],
      ["shopify", { account: "example.myshopify.com/admin", webhook_secret: "s" }, 422, "/body/account"],
      ["woocommerce", { account: "example.com", webhook_secret: "s" }, 422, "/body/account"],
      ["woocommerce", { account: "ftp://example.com/", webhook_secret: "s" }, 422, "/body/account"],
      ["shopify", { account: "example.myshopify.com", webhook_secret: "   " }, 422, "/body/webhook_secret"],
      ["shopify", { account: "example.myshopify.com", webhook_secret: "" }, 400, "/body/webhook_secret"],
      ["shopify", { account: "example.myshopify.com" }, 400, "/body/webhook_secret"],
      ["shopify", { account: "example.myshopify.com", webhook_secret: "s", extra: 1 }, 400, "/body/extra"],
    ];
    for (const [platform, body, status, pointer] of cases) {
      const problem = await ok("PUT", shop, `/v1/integrations/${platform}`, status, body);
      expect(
        problem.errors.map((error: Json) => error.pointer),
        JSON.stringify(body),
      ).toContain(pointer);
    }
    const unknown = await ok("PUT", shop, "/v1/integrations/magento", 400, {
      account: "example.com",
      webhook_secret: "s",
    });
    expect(unknown.errors[0].pointer).toBe("/params/platform");
    expect((await ok("GET", shop, "/v1/integrations", 200)).data).toEqual([]);
  });

  it("gives a store to one shop only (409), and lets the owner connect it again", async () => {
    const first = await createShop(t());
    const second = await createShop(t());
    await ok("PUT", first, "/v1/integrations/shopify", 201, {
      account: "taken.myshopify.com",
      webhook_secret: "one",
    });
    const taken = await ok("PUT", second, "/v1/integrations/shopify", 409, {
      account: "TAKEN.myshopify.com",
      webhook_secret: "two",
    });
    expect(taken).toMatchObject({ code: "integration_account_taken", errors: [{ pointer: "/body/account" }] });
    expect((await ok("GET", second, "/v1/integrations", 200)).data).toEqual([]);
    // The same site once with and once without the trailing slash is the same account.
    await ok("PUT", first, "/v1/integrations/woocommerce", 201, {
      account: "https://taken.example/",
      webhook_secret: "one",
    });
    expect(
      (
        await ok("PUT", second, "/v1/integrations/woocommerce", 409, {
          account: "https://taken.example",
          webhook_secret: "two",
        })
      ).code,
    ).toBe("integration_account_taken");
    await ok("PUT", first, "/v1/integrations/shopify", 200, { account: "taken.myshopify.com", webhook_secret: "new" });
    // Once the first shop lets it go, the second may take it.
    await ok("DELETE", first, "/v1/integrations/shopify", 204);
    await ok("PUT", second, "/v1/integrations/shopify", 201, { account: "taken.myshopify.com", webhook_secret: "two" });
  });

  it("shows each shop only its own connections", async () => {
    const owner = await createShop(t());
    const other = await createShop(t());
    await ok("PUT", owner, "/v1/integrations/shopify", 201, {
      account: "owner.myshopify.com",
      webhook_secret: "secret",
    });
    expect((await ok("GET", other, "/v1/integrations", 200)).data).toEqual([]);
    expect((await ok("GET", other, "/v1/integrations/shopify", 404)).code).toBe("integration_not_found");
    expect((await ok("DELETE", other, "/v1/integrations/shopify", 404)).code).toBe("integration_not_found");
    expect((await ok("GET", owner, "/v1/integrations/shopify", 200)).account).toBe("owner.myshopify.com");
  });

  it("needs a secret key", async () => {
    const shop = await createShop(t());
    const anonymous = await send("GET", null, "/v1/integrations");
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().code).toBe("missing_api_key");
    const publishable = await t().app.inject({
      method: "PUT",
      url: "/v1/integrations/shopify",
      headers: bearer(shop.publishableKey),
      payload: { account: "pk.myshopify.com", webhook_secret: "s" },
    });
    expect(publishable.statusCode).toBe(403);
    expect(publishable.json().code).toBe("secret_key_required");
  });
});
