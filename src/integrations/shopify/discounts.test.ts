import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { IssuedReward } from "../../modules/rewards/codes.js";
import { parseWebhookJson } from "../json.js";
import {
  createShopifyDiscount,
  deleteShopifyDiscount,
  type ShopifyAdminClientOptions,
  ShopifyApiError,
  type ShopifyDiscountInput,
  shopifyPriceRule,
} from "./discounts.js";

// Beyond 2^53: as a JS number it would read 9007199254740992.
const bigRuleId = "9007199254740993";
const bigCodeId = "9007199254740995";
const bigCustomerId = "18446744073709551615";
const apiVersion = "2025-07";
const token = "shpat_test_token";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the fake store answers, in order: a status and raw body, or no answer at all. */
type Reply = { status: number; body: string } | "hang";

interface FakeShopify {
  origin: string;
  seen: Seen[];
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A real HTTP server on 127.0.0.1 that records each request and answers the next reply. */
async function fakeShopify(replies: Reply[]): Promise<FakeShopify> {
  const seen: Seen[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      seen.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const reply = replies.shift();
      if (reply === "hang") {
        held.push(response);
        return;
      }
      if (reply === undefined) {
        response.writeHead(599, { "Content-Type": "text/plain" }).end("unexpected request");
        return;
      }
      response.writeHead(reply.status, { "Content-Type": "application/json" }).end(reply.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, seen };
}

function client(origin: string, extra: Partial<ShopifyAdminClientOptions> = {}): ShopifyAdminClientOptions {
  return { domain: "example.myshopify.com", accessToken: token, apiVersion, origin, ...extra };
}

function issued(type: IssuedReward["type"], value: IssuedReward["value"], min_order: IssuedReward["min_order"] = []) {
  return { reward_id: "rew_1", version: 1, type, name: { en: "A reward" }, value, min_order } satisfies IssuedReward;
}

function input(reward: IssuedReward, extra: Partial<ShopifyDiscountInput> = {}): ShopifyDiscountInput {
  return {
    code: "LAUREL-7KQ2-XM4T-9PWA",
    issued: reward,
    storeCurrency: "USD",
    customerId: null,
    startsAt: "2025-04-02T16:30:45.000Z",
    endsAt: "2025-07-01T16:30:45.000Z",
    title: "LAUREL-7KQ2-XM4T-9PWA",
    ...extra,
  };
}

// Big ids written as bare JSON numbers, the way Shopify writes them.
const ruleCreated: Reply = {
  status: 201,
  body: `{"price_rule":{"id":${bigRuleId},"value_type":"fixed_amount","value":"-10.0","title":"LAUREL-7KQ2-XM4T-9PWA"}}`,
};
const codeCreated: Reply = {
  status: 201,
  body: `{"discount_code":{"id":${bigCodeId},"price_rule_id":${bigRuleId},"code":"LAUREL-7KQ2-XM4T-9PWA","usage_count":0}}`,
};

const common = {
  title: "LAUREL-7KQ2-XM4T-9PWA",
  customer_selection: "all",
  usage_limit: 1,
  once_per_customer: true,
  starts_at: "2025-04-02T16:30:45.000Z",
  ends_at: "2025-07-01T16:30:45.000Z",
};

/** Creates the discount against a fake store that accepts both calls; answers the rule as sent. */
async function sentRule(discount: ShopifyDiscountInput): Promise<{ raw: string; rule: unknown }> {
  const shopify = await fakeShopify([ruleCreated, codeCreated]);
  const result = await createShopifyDiscount(client(shopify.origin), discount);
  expect(result).toEqual({ priceRuleId: bigRuleId, discountCodeId: bigCodeId });
  expect(shopify.seen).toHaveLength(2);
  const [ruleRequest, codeRequest] = shopify.seen as [Seen, Seen];
  expect(ruleRequest.method).toBe("POST");
  expect(ruleRequest.url).toBe(`/admin/api/${apiVersion}/price_rules.json`);
  expect(codeRequest.method).toBe("POST");
  expect(codeRequest.url).toBe(`/admin/api/${apiVersion}/price_rules/${bigRuleId}/discount_codes.json`);
  expect(codeRequest.body).toBe(`{"discount_code":{"code":"${discount.code}"}}`);
  for (const seen of shopify.seen) {
    expect(seen.headers["x-shopify-access-token"]).toBe(token);
    expect(seen.headers["content-type"]).toBe("application/json");
    expect(seen.headers.accept).toBe("application/json");
    expect(seen.headers["user-agent"]).toBe("Laurel");
  }
  const parsed = parseWebhookJson(ruleRequest.body) as { price_rule: unknown };
  expect(Object.keys(parsed)).toEqual(["price_rule"]);
  return { raw: ruleRequest.body, rule: parsed.price_rule };
}

async function failure(promise: Promise<unknown>): Promise<ShopifyApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ShopifyApiError);
    return error as ShopifyApiError;
  }
  throw new Error("the call succeeded");
}

describe("createShopifyDiscount: amounts", () => {
  it("sends $10 off as the exact JSON Shopify expects and keeps both big ids exact", async () => {
    const { raw } = await sentRule(input(issued("amount_off", { amounts: [{ amount: 1000, currency: "USD" }] })));
    expect(raw).toBe(
      '{"price_rule":{"title":"LAUREL-7KQ2-XM4T-9PWA","target_type":"line_item","target_selection":"all",' +
        '"allocation_method":"across","value_type":"fixed_amount","value":"-10.00","customer_selection":"all",' +
        '"usage_limit":1,"once_per_customer":true,"starts_at":"2025-04-02T16:30:45.000Z",' +
        '"ends_at":"2025-07-01T16:30:45.000Z"}}',
    );
  });

  it("writes yen without decimals and dinar with three", async () => {
    const yen = await sentRule(
      input(issued("amount_off", { amounts: [{ amount: 500, currency: "JPY" }] }), { storeCurrency: "JPY" }),
    );
    expect(yen.rule).toMatchObject({ value_type: "fixed_amount", value: "-500" });
    const dinar = await sentRule(
      input(issued("amount_off", { amounts: [{ amount: 1250, currency: "KWD" }] }), { storeCurrency: "KWD" }),
    );
    expect(dinar.rule).toMatchObject({ value_type: "fixed_amount", value: "-1.250" });
  });

  it("picks the store currency's amount and writes small and large amounts exactly", () => {
    const amounts = [
      { amount: 900, currency: "EUR" },
      { amount: 5, currency: "USD" },
    ];
    expect(shopifyPriceRule(input(issued("amount_off", { amounts })))).toMatchObject({
      priceRule: { value: "-0.05" },
    });
    const large = { amounts: [{ amount: 123456789012345, currency: "USD" }] };
    expect(shopifyPriceRule(input(issued("amount_off", large)))).toMatchObject({
      priceRule: { value: "-1234567890123.45" },
    });
  });

  it("is unsupported, without a request, when the reward has no amount in the store currency", async () => {
    const shopify = await fakeShopify([]);
    const result = await createShopifyDiscount(
      client(shopify.origin),
      input(issued("amount_off", { amounts: [{ amount: 1000, currency: "EUR" }] })),
    );
    expect(result).toEqual({ unsupported: expect.stringContaining("no amount in the store currency USD") });
    expect(shopify.seen).toHaveLength(0);
  });
});

describe("createShopifyDiscount: reward types", () => {
  it("sends 15% off across the cart", async () => {
    const { rule } = await sentRule(input(issued("percent_off", { percent: 15, max_amounts: [] })));
    expect(rule).toEqual({
      ...common,
      target_type: "line_item",
      target_selection: "all",
      allocation_method: "across",
      value_type: "percentage",
      value: "-15.0",
    });
  });

  it("refuses a capped percent without sending anything", async () => {
    const shopify = await fakeShopify([]);
    const result = await createShopifyDiscount(
      client(shopify.origin),
      input(issued("percent_off", { percent: 20, max_amounts: [{ amount: 2500, currency: "USD" }] })),
    );
    expect(result).toEqual({ unsupported: expect.stringContaining("cannot cap a percentage") });
    expect((result as { unsupported: string }).unsupported).toContain("25.00 USD");
    expect(shopify.seen).toHaveLength(0);
  });

  it("sends free shipping as 100% off each shipping line", async () => {
    const { rule } = await sentRule(input(issued("free_shipping", { max_amounts: [] })));
    expect(rule).toEqual({
      ...common,
      target_type: "shipping_line",
      target_selection: "all",
      allocation_method: "each",
      value_type: "percentage",
      value: "-100.0",
    });
  });

  it("refuses capped free shipping", () => {
    const result = shopifyPriceRule(
      input(issued("free_shipping", { max_amounts: [{ amount: 800, currency: "USD" }] })),
    );
    expect(result).toEqual({ unsupported: expect.stringContaining("cannot cap a free shipping discount") });
  });

  it("sends a free product as 100% off its variant, the big variant id as a bare number", async () => {
    const variant = "44713213841234567890";
    const { raw, rule } = await sentRule(input(issued("free_product", { variant_id: variant, product_id: null })));
    expect(rule).toEqual({
      ...common,
      target_type: "line_item",
      target_selection: "entitled",
      entitled_variant_ids: [variant],
      allocation_method: "each",
      value_type: "percentage",
      value: "-100.0",
    });
    expect(raw).toContain(`"entitled_variant_ids":[${variant}]`);
    expect(raw).not.toContain("allocation_limit");
  });

  it("reads a variant gid and refuses a variant_id that is no Shopify id", () => {
    const gid = shopifyPriceRule(
      input(issued("free_product", { variant_id: "gid://shopify/ProductVariant/123", product_id: null })),
    );
    expect(gid).toMatchObject({ priceRule: { entitled_variant_ids: [123n] } });
    const sku = shopifyPriceRule(input(issued("free_product", { variant_id: "SKU-RED-M", product_id: null })));
    expect(sku).toEqual({ unsupported: expect.stringContaining('"SKU-RED-M" is not a Shopify variant id') });
  });

  it("leaves custom rewards and store credit unsupported, without a request", async () => {
    const shopify = await fakeShopify([]);
    const custom = await createShopifyDiscount(
      client(shopify.origin),
      input(issued("custom", { instructions: "A tote bag at the counter" })),
    );
    expect(custom).toEqual({ unsupported: expect.stringContaining("the merchant fulfils custom rewards") });
    const credit = await createShopifyDiscount(
      client(shopify.origin),
      input(issued("store_credit", { amounts: [{ amount: 1000, currency: "USD" }] })),
    );
    expect(credit).toEqual({ unsupported: expect.stringContaining("store credit is a balance, not a code") });
    expect(shopify.seen).toHaveLength(0);
  });
});

describe("createShopifyDiscount: conditions", () => {
  it("sends the store currency's minimum order as a subtotal range", async () => {
    const reward = issued("amount_off", { amounts: [{ amount: 1000, currency: "USD" }] }, [
      { amount: 4000, currency: "EUR" },
      { amount: 5000, currency: "USD" },
    ]);
    const { rule } = await sentRule(input(reward));
    expect(rule).toMatchObject({ prerequisite_subtotal_range: { greater_than_or_equal_to: "50.00" } });
  });

  it("refuses a minimum order that is not in the store currency", () => {
    const reward = issued("percent_off", { percent: 10, max_amounts: [] }, [{ amount: 5000, currency: "EUR" }]);
    expect(shopifyPriceRule(input(reward))).toEqual({
      unsupported: expect.stringContaining("minimum order is only in EUR, not the store currency USD"),
    });
  });

  it("refuses a free product with a minimum order (Shopify would count the product alone)", () => {
    const reward = issued("free_product", { variant_id: "123", product_id: null }, [{ amount: 5000, currency: "USD" }]);
    expect(shopifyPriceRule(input(reward))).toEqual({ unsupported: expect.stringContaining("minimum order") });
  });

  it("restricts the code to the member's customer, the id beyond 2^53 written exactly", async () => {
    const { raw, rule } = await sentRule(
      input(issued("percent_off", { percent: 10, max_amounts: [] }), { customerId: bigCustomerId }),
    );
    expect(raw).toContain(`"customer_selection":"prerequisite","prerequisite_customer_ids":[${bigCustomerId}]`);
    expect(rule).toMatchObject({ customer_selection: "prerequisite", prerequisite_customer_ids: [bigCustomerId] });
  });

  it("leaves ends_at out for a code that never expires", async () => {
    const { rule } = await sentRule(input(issued("free_shipping", { max_amounts: [] }), { endsAt: null }));
    expect(rule).not.toHaveProperty("ends_at");
    expect(rule).toMatchObject({ starts_at: "2025-04-02T16:30:45.000Z" });
  });

  it("throws on a customer id that is not digits", () => {
    expect(() =>
      shopifyPriceRule(input(issued("free_shipping", { max_amounts: [] }), { customerId: "9.007199254740992e15" })),
    ).toThrow(TypeError);
  });
});

describe("createShopifyDiscount: failures", () => {
  const reward = issued("amount_off", { amounts: [{ amount: 1000, currency: "USD" }] });

  it("a 422 from Shopify is a non-retryable error with the body, and nothing else is sent", async () => {
    const body = '{"errors":{"value":["must be less than or equal to 0"]}}';
    const shopify = await fakeShopify([{ status: 422, body }]);
    const error = await failure(createShopifyDiscount(client(shopify.origin), input(reward)));
    expect(error.status).toBe(422);
    expect(error.retryable).toBe(false);
    expect(error.body).toBe(body);
    expect(error.message).toContain("422");
    expect(error.message).not.toContain(token);
    expect(shopify.seen).toHaveLength(1);
  });

  it.each([500, 503, 429])("a %i is retryable", async (status) => {
    const shopify = await fakeShopify([{ status, body: '{"errors":"try later"}' }]);
    const error = await failure(createShopifyDiscount(client(shopify.origin), input(reward)));
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(true);
    expect(error.body).toBe('{"errors":"try later"}');
  });

  it("deletes the price rule when the discount code cannot be created, then throws", async () => {
    const body = '{"errors":{"code":["must be unique. Please try a different code."]}}';
    const shopify = await fakeShopify([ruleCreated, { status: 422, body }, { status: 200, body: "{}" }]);
    const error = await failure(createShopifyDiscount(client(shopify.origin), input(reward)));
    expect(error.status).toBe(422);
    expect(error.body).toBe(body);
    expect(shopify.seen.map((seen) => `${seen.method} ${seen.url}`)).toEqual([
      `POST /admin/api/${apiVersion}/price_rules.json`,
      `POST /admin/api/${apiVersion}/price_rules/${bigRuleId}/discount_codes.json`,
      `DELETE /admin/api/${apiVersion}/price_rules/${bigRuleId}.json`,
    ]);
    const deletion = shopify.seen[2] as Seen;
    expect(deletion.headers["x-shopify-access-token"]).toBe(token);
    expect(deletion.body).toBe("");
  });

  it("throws the discount code's error, naming the rule left behind, when the delete fails too", async () => {
    const shopify = await fakeShopify([ruleCreated, { status: 502, body: "bad gateway" }, { status: 500, body: "" }]);
    const error = await failure(createShopifyDiscount(client(shopify.origin), input(reward)));
    expect(error.status).toBe(502);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`the price rule ${bigRuleId} could not be deleted`);
    expect(shopify.seen).toHaveLength(3);
  });

  it("a 2xx without a price rule id is a non-retryable error", async () => {
    const shopify = await fakeShopify([{ status: 201, body: '{"price_rule":{}}' }]);
    const error = await failure(createShopifyDiscount(client(shopify.origin), input(reward)));
    expect(error.status).toBe(201);
    expect(error.retryable).toBe(false);
    expect(shopify.seen).toHaveLength(1);
  });

  it("times out on a store that never answers, retryable and without a status", async () => {
    const shopify = await fakeShopify(["hang"]);
    const error = await failure(createShopifyDiscount(client(shopify.origin, { timeoutMs: 200 }), input(reward)));
    expect(error.status).toBeNull();
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("did not answer within 200 ms");
    expect(shopify.seen).toHaveLength(1);
  });

  it("a store that cannot be reached is retryable", async () => {
    const shopify = await fakeShopify([]);
    const server = servers.pop() as Server;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await failure(createShopifyDiscount(client(shopify.origin), input(reward)));
    expect(error.status).toBeNull();
    expect(error.retryable).toBe(true);
  });
});

describe("deleteShopifyDiscount", () => {
  it("deletes the price rule", async () => {
    const shopify = await fakeShopify([{ status: 204, body: "" }]);
    await deleteShopifyDiscount(client(shopify.origin), bigRuleId);
    expect(shopify.seen).toHaveLength(1);
    const [seen] = shopify.seen as [Seen];
    expect(seen.method).toBe("DELETE");
    expect(seen.url).toBe(`/admin/api/${apiVersion}/price_rules/${bigRuleId}.json`);
    expect(seen.headers["x-shopify-access-token"]).toBe(token);
  });

  it("resolves when Shopify no longer knows the price rule (404)", async () => {
    const shopify = await fakeShopify([{ status: 404, body: '{"errors":"Not Found"}' }]);
    await expect(deleteShopifyDiscount(client(shopify.origin), bigRuleId)).resolves.toBeUndefined();
  });

  it("throws other failures", async () => {
    const shopify = await fakeShopify([{ status: 401, body: '{"errors":"Invalid API key or access token"}' }]);
    const error = await failure(deleteShopifyDiscount(client(shopify.origin), bigRuleId));
    expect(error.status).toBe(401);
    expect(error.retryable).toBe(false);
  });
});
