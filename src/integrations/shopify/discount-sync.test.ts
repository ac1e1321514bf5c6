import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeEach, expect, it } from "vitest";
import { createShop, describeEachDialect, type TestShop, useTestApp } from "../../../test/support/app.js";
import { apiCalls, type Json, type Method } from "../../../test/support/http.js";
import { runSweeps } from "../../cli/sweeps.js";

/**
 * A local stand-in for the Shopify Admin API: it records every request and answers from a queue of
 * statuses (201 by default), like Shopify's price rule and discount code endpoints.
 */
interface Seen {
  method: string;
  path: string;
  token: string | undefined;
  body: Json | null;
}
const seen: Seen[] = [];
const failNext: number[] = [];
let nextId = 9_007_199_254_740_993n;

const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const text = Buffer.concat(chunks).toString("utf8");
    seen.push({
      method: request.method ?? "",
      path: request.url ?? "",
      token: request.headers["x-shopify-access-token"] as string | undefined,
      body: text === "" ? null : (JSON.parse(text) as Json),
    });
    const status = failNext.shift() ?? (request.method === "DELETE" ? 200 : 201);
    response.writeHead(status, { "content-type": "application/json" });
    if (status >= 300) return response.end(JSON.stringify({ errors: "try again" }));
    if (request.method === "DELETE") return response.end("{}");
    nextId += 1n;
    // Ids beyond 2^53, written as JSON numbers as Shopify writes them.
    const key = request.url?.includes("discount_codes") ? "discount_code" : "price_rule";
    response.end(`{"${key}":{"id":${nextId},"title":"x"}}`);
  });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describeEachDialect("Shopify discount codes", (dialect) => {
  const t = useTestApp(dialect, { shopifyAdminOrigin: origin, shopifyApiVersion: "2025-10" });
  const settings = { apiVersion: "2025-10", origin };

  beforeEach(() => {
    seen.length = 0;
    failNext.length = 0;
  });

  const { send, ok } = apiCalls(t);
  const json = (token: string, method: Method, url: string, status: number, payload?: Json) =>
    ok(send(method, token, url, payload), status);

  /** A shop with a connected store, a $10-off reward and a member with points and a Shopify id. */
  async function setUp(options: { enable?: boolean; reward?: Json } = {}) {
    const shop = await createShop(t());
    const domain = `${shop.shop.id.toLowerCase().replaceAll("_", "-")}.myshopify.com`;
    await json(shop.secretKey, "PUT", "/v1/integrations/shopify", 201, { account: domain, webhook_secret: "s3cret" });
    if (options.enable !== false) {
      await json(shop.secretKey, "PUT", "/v1/integrations/shopify/discount-codes", 200, {
        enabled: true,
        admin_access_token: "shpat_test_token",
      });
    }
    const reward = await json(
      shop.secretKey,
      "POST",
      "/v1/rewards",
      201,
      options.reward ?? {
        type: "amount_off",
        name: { en: "$10 off" },
        value: { amounts: [{ amount: 1000, currency: "USD" }] },
        cost: { type: "fixed", points: 500 },
        min_order: [{ amount: 5000, currency: "USD" }],
      },
    );
    const member = await json(shop.secretKey, "POST", "/v1/members", 201, {
      identifiers: [{ kind: "shopify", value: "9007199254740995" }],
    });
    await json(shop.secretKey, "POST", `/v1/members/${member.id}/points/adjustments`, 201, {
      amount: 5000,
      reason: "Welcome",
    });
    return { shop, domain, reward, member };
  }

  async function redeem(shop: TestShop, memberId: string, rewardId: string) {
    return json(shop.secretKey, "POST", `/v1/members/${memberId}/redemptions`, 201, { reward_id: rewardId });
  }

  it("creates the code as a price rule and discount code before the redemption answers", async () => {
    const { shop, domain, reward, member } = await setUp();
    const redemption = await redeem(shop, member.id, reward.id);
    expect(redemption.shopify_discount).toMatchObject({
      platform: "shopify",
      status: "created",
      attempts: 1,
      last_error: null,
    });
    // The ids are Shopify's, beyond 2^53, kept exact.
    expect(redemption.shopify_discount.price_rule_id).toMatch(/^900719925474\d{4}$/);
    expect(seen.map((request) => `${request.method} ${request.path}`)).toEqual([
      "POST /admin/api/2025-10/price_rules.json",
      `POST /admin/api/2025-10/price_rules/${redemption.shopify_discount.price_rule_id}/discount_codes.json`,
    ]);
    expect(seen[0]?.token).toBe("shpat_test_token");
    expect(seen[0]?.body?.price_rule).toMatchObject({
      title: redemption.code,
      value_type: "fixed_amount",
      value: "-10.00",
      customer_selection: "prerequisite",
      prerequisite_subtotal_range: { greater_than_or_equal_to: "50.00" },
      usage_limit: 1,
      starts_at: redemption.created_at,
      ends_at: redemption.code_expires_at,
    });
    expect(seen[1]?.body).toEqual({ discount_code: { code: redemption.code } });
    expect(domain).toContain(".myshopify.com");
    // The single redemption shows the same state.
    const read = await json(shop.secretKey, "GET", `/v1/redemptions/${redemption.id}`, 200);
    expect(read.shopify_discount).toEqual(redemption.shopify_discount);
  });

  it("keeps the redemption when Shopify fails, and the sweep sends it again later", async () => {
    const { shop, reward, member } = await setUp();
    failNext.push(503);
    const redemption = await redeem(shop, member.id, reward.id);
    expect(redemption.status).toBe("issued");
    expect(redemption.shopify_discount).toMatchObject({ status: "pending", attempts: 1, price_rule_id: null });
    expect(redemption.shopify_discount.last_error).toContain("503");
    const points = await json(shop.secretKey, "GET", `/v1/members/${member.id}/points`, 200);
    expect(points.available).toBe(4500);

    // Not yet due: a sweep now sends nothing.
    expect((await runSweeps(t().database, t().clock.now(), settings)).discountsRetried).toBe(0);
    expect(seen).toHaveLength(1);
    t().clock.advance(60 * 1000);
    const report = await runSweeps(t().database, t().clock.now(), settings);
    expect(report.discountsRetried).toBeGreaterThanOrEqual(1);
    const read = await json(shop.secretKey, "GET", `/v1/redemptions/${redemption.id}`, 200);
    expect(read.shopify_discount).toMatchObject({ status: "created", attempts: 2, last_error: null });
  });

  it("fails a queued discount whose store was disconnected, and the sweep goes on", async () => {
    const { shop, reward, member } = await setUp();
    failNext.push(503);
    const redemption = await redeem(shop, member.id, reward.id);
    expect(redemption.shopify_discount).toMatchObject({ status: "pending", attempts: 1 });
    const gone = await send("DELETE", shop.secretKey, "/v1/integrations/shopify");
    expect(gone.statusCode).toBe(204);
    t().clock.advance(60 * 1000);
    const report = await runSweeps(t().database, t().clock.now(), settings);
    expect(report.discountsRetried).toBeGreaterThanOrEqual(1);
    const read = await json(shop.secretKey, "GET", `/v1/redemptions/${redemption.id}`, 200);
    expect(read.shopify_discount).toMatchObject({
      status: "failed",
      attempts: 2,
      last_error: "the redemption or the Shopify connection is gone",
      next_attempt_at: null,
    });
    // Only the first, failed attempt reached Shopify.
    expect(seen).toHaveLength(1);
  });

  it("marks a refusal from Shopify failed without retrying it", async () => {
    const { shop, reward, member } = await setUp();
    failNext.push(422);
    const redemption = await redeem(shop, member.id, reward.id);
    expect(redemption.shopify_discount).toMatchObject({ status: "failed", attempts: 1, next_attempt_at: null });
    t().clock.advance(24 * 60 * 60 * 1000);
    await runSweeps(t().database, t().clock.now(), settings);
    expect(seen).toHaveLength(1);
  });

  it("deletes the Shopify discount when the redemption is cancelled", async () => {
    const { shop, reward, member } = await setUp();
    const redemption = await redeem(shop, member.id, reward.id);
    const priceRule = redemption.shopify_discount.price_rule_id;
    seen.length = 0;
    const cancelled = await json(shop.secretKey, "POST", `/v1/redemptions/${redemption.id}/cancel`, 200, {
      reason: "Changed their mind",
    });
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.shopify_discount).toMatchObject({ status: "deleted" });
    expect(seen.map((request) => `${request.method} ${request.path}`)).toEqual([
      `DELETE /admin/api/2025-10/price_rules/${priceRule}.json`,
    ]);
  });

  it("records a reward Shopify cannot express as unsupported, sending nothing", async () => {
    const { shop, reward, member } = await setUp({
      reward: {
        type: "percent_off",
        name: { en: "15% off, up to $20" },
        value: { percent: 15, max_amounts: [{ amount: 2000, currency: "USD" }] },
        cost: { type: "fixed", points: 500 },
      },
    });
    const redemption = await redeem(shop, member.id, reward.id);
    expect(redemption.shopify_discount).toMatchObject({ status: "unsupported" });
    expect(redemption.shopify_discount.last_error).toMatch(/cap|max/i);
    expect(seen).toHaveLength(0);
  });

  it("sends nothing while the setting is off, and needs a token to turn it on", async () => {
    const { shop, reward, member } = await setUp({ enable: false });
    const redemption = await redeem(shop, member.id, reward.id);
    expect(redemption.shopify_discount).toBeNull();
    expect(seen).toHaveLength(0);
    const refused = await send("PUT", shop.secretKey, "/v1/integrations/shopify/discount-codes", { enabled: true });
    expect(refused.statusCode).toBe(422);
    expect(refused.headers["content-type"]).toContain("application/problem+json");
    expect(refused.json().errors).toEqual([
      { pointer: "/body/admin_access_token", message: "is required to turn discount codes on" },
    ]);
    expect(await json(shop.secretKey, "GET", "/v1/integrations/shopify/discount-codes", 200)).toEqual({
      object: "shopify_discount_codes",
      enabled: false,
      admin_access_token_set: false,
    });
    // The token is stored but never shown.
    const on = await json(shop.secretKey, "PUT", "/v1/integrations/shopify/discount-codes", 200, {
      enabled: true,
      admin_access_token: "shpat_secret",
    });
    expect(on).toEqual({ object: "shopify_discount_codes", enabled: true, admin_access_token_set: true });
    expect(JSON.stringify(on)).not.toContain("shpat_secret");
  });

  it("answers 404 for a shop without a Shopify store, and never shows another shop's settings", async () => {
    const { shop } = await setUp();
    const other = await createShop(t());
    const missing = await send("GET", other.secretKey, "/v1/integrations/shopify/discount-codes");
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("integration_not_found");
    const put = await send("PUT", other.secretKey, "/v1/integrations/shopify/discount-codes", {
      enabled: true,
      admin_access_token: "shpat_other",
    });
    expect(put.statusCode).toBe(404);
    expect((await json(shop.secretKey, "GET", "/v1/integrations/shopify/discount-codes", 200)).enabled).toBe(true);
  });
});
