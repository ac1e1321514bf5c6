import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import {
  bearer,
  createShop,
  describeEachDialect,
  type TestApp,
  type TestShop,
  useTestApp,
} from "../../test/support/app.js";
import { verifyLedger } from "../modules/ledger/index.js";
import { verifyBase64HmacSha256 } from "./signatures.js";
import { isWooPing, wooDeliveryKey, wooSigningKey } from "./woocommerce/webhooks.js";

// biome-ignore lint/suspicious/noExplicitAny: API answers and derived payloads are read as loose JSON
type Json = Record<string, any>;

const shopifyDir = new URL("../../../shared/fixtures/shopify/", import.meta.url);
const wooDir = new URL("../../../shared/fixtures/woocommerce/", import.meta.url);

/** A fixture's exact text: what is signed and sent is the file as it is. */
function shopifyFixture(name: string): string {
  return readFileSync(new URL(`rest-2026-07/${name}`, shopifyDir), "utf8");
}

function wooFixture(name: string): string {
  return readFileSync(new URL(`rest-v3-docs/${name}`, wooDir), "utf8");
}

const hmacVectors = JSON.parse(readFileSync(new URL("hmac-test-vectors.json", shopifyDir), "utf8")) as Json;
const wooVectors = JSON.parse(readFileSync(new URL("signature-test-vectors.json", wooDir), "utf8")) as Json;

const noCustomerOrder = "order-1073459963-3-items-no-customer.json";
const eurOrder = "order-1073459976-EUR-paid.json";
const discountOrder = "order-1073459981-discount-code.json";
const refundedOrder = "order-450789469-partially-refunded.json";
const refund = "refund-509562969.json";
const bob = "customer-207119551.json";

function sign(body: string | Buffer, secret: string): string {
  return createHmac("sha256", secret).update(body).digest("base64");
}

let deliveryCounter = 0;

function harness(t: () => TestApp) {
  async function ok(response: Promise<LightMyRequestResponse> | LightMyRequestResponse, status: number) {
    const done = await response;
    expect(done.statusCode, done.body).toBe(status);
    if (status >= 400) expect(done.headers["content-type"]).toContain("application/problem+json");
    return done.body === "" ? {} : (done.json() as Json);
  }

  const api = (shop: TestShop, method: "GET" | "POST" | "PUT", url: string, payload?: Json) =>
    t().app.inject({ method, url, headers: bearer(shop.secretKey), ...(payload ? { payload } : {}) });

  async function connect(shop: TestShop, platform: "shopify" | "woocommerce", account: string, secret: string) {
    await ok(api(shop, "PUT", `/v1/integrations/${platform}`, { account, webhook_secret: secret }), 201);
  }

  /** The earning rule of the brief: 1 point per 1.00 of the shop currency, on the subtotal. */
  async function onePointPerUnit(shop: TestShop, extra: Json = {}) {
    const rule = {
      event_type: "order.paid",
      reward: { type: "per_currency_unit", points: 1, per: { amount: 100, currency: shop.shop.baseCurrency } },
      ...extra,
    };
    await ok(api(shop, "POST", "/v1/rules", rule), 201);
  }

  /**
   * The same rule with points that never expire: the fixtures' orders are from 2008 and 2017, and
   * points expiring 12 months after them would be past the test clock (2026-03-01) already.
   */
  const neverExpiring = (shop: TestShop) => onePointPerUnit(shop, { expiry_months: null });

  function shopify(input: {
    domain: string;
    secret: string;
    topic: string;
    body: string | Buffer;
    id?: string;
    headers?: Record<string, string | undefined>;
  }) {
    const id = input.id ?? `shopify-${++deliveryCounter}`;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-shopify-hmac-sha256": sign(input.body, input.secret),
      "x-shopify-topic": input.topic,
      "x-shopify-shop-domain": input.domain,
      "x-shopify-webhook-id": id,
      "x-shopify-api-version": "2026-07",
    };
    for (const [name, value] of Object.entries(input.headers ?? {})) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    return t().app.inject({ method: "POST", url: "/v1/integrations/shopify/webhooks", headers, payload: input.body });
  }

  function woo(input: {
    source: string;
    secret: string;
    topic: string;
    body: string | Buffer;
    id?: string;
    headers?: Record<string, string | undefined>;
  }) {
    const id = input.id ?? `wc-${++deliveryCounter}`;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "WooCommerce/9.0.0 Hookshot (WordPress/6.5)",
      "x-wc-webhook-signature": sign(input.body, input.secret),
      "x-wc-webhook-topic": input.topic,
      "x-wc-webhook-source": input.source,
      "x-wc-webhook-delivery-id": id,
      "x-wc-webhook-id": "142",
    };
    for (const [name, value] of Object.entries(input.headers ?? {})) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    return t().app.inject({
      method: "POST",
      url: "/v1/integrations/woocommerce/webhooks",
      headers,
      payload: input.body,
    });
  }

  /** What one shop has stored, table by table. */
  async function stored(shop: TestShop) {
    const db = t().database.db;
    const count = async (
      table: "events" | "webhook_deliveries" | "members" | "ledger_transactions" | "orders" | "member_identifiers",
    ) =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("shop_id", "=", shop.shop.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      events: await count("events"),
      deliveries: await count("webhook_deliveries"),
      members: await count("members"),
      identifiers: await count("member_identifiers"),
      transactions: await count("ledger_transactions"),
      orders: await count("orders"),
    };
  }

  const nothing = { events: 0, deliveries: 0, members: 0, identifiers: 0, transactions: 0, orders: 0 };

  async function balance(shop: TestShop, memberId: string) {
    return ok(api(shop, "GET", `/v1/members/${memberId}/points`), 200);
  }

  async function member(shop: TestShop, memberId: string) {
    return ok(api(shop, "GET", `/v1/members/${memberId}`), 200);
  }

  async function eventPayload(shop: TestShop, eventId: string): Promise<Json> {
    const row = await t()
      .database.db.selectFrom("events")
      .select("payload")
      .where("shop_id", "=", shop.shop.id)
      .where("id", "=", eventId)
      .executeTakeFirstOrThrow();
    return JSON.parse(row.payload) as Json;
  }

  async function delivery(shop: TestShop, platform: "shopify" | "woocommerce", deliveryId: string) {
    return t()
      .database.db.selectFrom("webhook_deliveries")
      .selectAll()
      .where("shop_id", "=", shop.shop.id)
      .where("platform", "=", platform)
      .where("delivery_id", "=", deliveryId)
      .executeTakeFirst();
  }

  async function expectCleanLedger(shop: TestShop) {
    expect((await verifyLedger(t().database.db, { shopId: shop.shop.id })).problems).toEqual([]);
  }

  return {
    ok,
    api,
    connect,
    onePointPerUnit,
    neverExpiring,
    shopify,
    woo,
    stored,
    nothing,
    balance,
    member,
    eventPayload,
    delivery,
    expectCleanLedger,
  };
}

describe("the signing helpers", () => {
  it("verify the WooCommerce core test vector", () => {
    const [vector] = wooVectors.vectors as Json[];
    expect(vector?.secret).toBe("");
    expect(
      verifyBase64HmacSha256(vector?.raw_body, wooSigningKey(vector?.secret), vector?.expected_signature_base64),
    ).toBe(true);
  });

  it.each([
    ["plain", "plain"],
    ["a&amp;b", "a&b"],
    ["&lt;tag&gt; &quot;q&quot; &#039;s&#039;", "<tag> \"q\" 's'"],
    ["&#39; &#0039; &#x27; &#X0027; &#34; &#x22; &#60; &#062; &#38; &#x26;", "' ' ' ' \" \" < > & &"],
    // One pass, like PHP's strtr: the "&lt;" an "&amp;" decodes to stays.
    ["&amp;lt;", "&lt;"],
    // Only what wp_specialchars_decode knows: other named entities and "&QUOT;" stay as written.
    ["&eacute; &QUOT; & &amp", "&eacute; &QUOT; & &amp"],
  ])("decode the webhook secret %j to the key %j, as WordPress does", (secret, key) => {
    expect(wooSigningKey(secret)).toBe(key);
  });

  it("recognize WooCommerce's creation ping, and only it", () => {
    const ping = Buffer.from("webhook_id=142");
    expect(isWooPing({}, ping)).toBe(true);
    expect(isWooPing({ "x-wc-webhook-signature": "abc" }, ping)).toBe(false);
    expect(isWooPing({}, Buffer.from('{"webhook_id": 142}'))).toBe(false);
    expect(isWooPing({}, Buffer.from("webhook_id=142&x=1"))).toBe(false);
  });

  it("key a WooCommerce delivery by its id and its body", () => {
    const one = wooDeliveryKey("abc", Buffer.from("{}"));
    expect(one).toBe(wooDeliveryKey("abc", Buffer.from("{}")));
    expect(one).not.toBe(wooDeliveryKey("abc", Buffer.from("{ }")));
    expect(one.startsWith("abc:")).toBe(true);
  });
});

describeEachDialect("Shopify webhooks", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);
  let domainCounter = 0;

  /** A USD shop (unless told otherwise) with a Shopify store connected and the brief's earning rule. */
  async function shopifyShop(options: { currency?: string; neverExpire?: boolean } = {}) {
    const shop = await createShop(t(), { baseCurrency: options.currency ?? "USD" });
    const domain = `store-${dialect}-${++domainCounter}.myshopify.com`;
    const secret = `shpss_${dialect}_${domainCounter}`;
    await h.connect(shop, "shopify", domain, secret);
    if (options.neverExpire) await h.neverExpiring(shop);
    else await h.onePointPerUnit(shop);
    const send = (topic: string, body: string | Buffer, extra: { id?: string; headers?: Json } = {}) =>
      h.shopify({ domain, secret, topic, body, ...extra });
    return { shop, domain, secret, send };
  }

  it("verifies Shopify's own test vector, byte for byte, and records the ignored topic", async () => {
    const [vector] = hmacVectors.vectors as Json[];
    if (vector === undefined) throw new Error("no vector");
    expect(sign(vector.raw_body, vector.secret)).toBe(vector.expected_hmac_base64);
    const shop = await createShop(t());
    // The vector's own domain: every dialect's database is its own, so both can connect it.
    await h.connect(shop, "shopify", vector.headers["X-Shopify-Shop-Domain"], vector.secret);

    const answer = await h.ok(
      t().app.inject({
        method: "POST",
        url: "/v1/integrations/shopify/webhooks",
        headers: { "Content-Type": "application/json", ...vector.headers },
        payload: vector.raw_body,
      }),
      200,
    );
    expect(answer).toEqual({
      delivery_id: "123456789",
      topic: "products/create",
      duplicate: false,
      events: [],
      member_id: null,
      ignored: expect.stringContaining("products/create"),
      notes: [],
    });
    const row = await h.delivery(shop, "shopify", "123456789");
    expect(row).toMatchObject({ topic: "products/create", payload: null });
    expect(JSON.parse(row?.result ?? "{}")).toMatchObject({ topic: "products/create", events: [] });

    // One byte more and the same header no longer verifies.
    const tampered = await h.ok(
      t().app.inject({
        method: "POST",
        url: "/v1/integrations/shopify/webhooks",
        headers: { "Content-Type": "application/json", ...vector.headers, "X-Shopify-Webhook-Id": "123456790" },
        payload: `${vector.raw_body} `,
      }),
      401,
    );
    expect(tampered.code).toBe("invalid_webhook_signature");
    expect(await h.delivery(shop, "shopify", "123456790")).toBeUndefined();
  });

  it("turns each fixture order into its event and points", async () => {
    const { shop, send } = await shopifyShop();

    // order 1073459981: customer 1073339475, subtotal 181.09 USD → 1 point per 1.00 = 181 points.
    const paid = await h.ok(send("orders/paid", shopifyFixture(discountOrder)), 200);
    expect(paid).toMatchObject({ topic: "orders/paid", duplicate: false, ignored: null });
    expect(paid.events).toEqual([
      {
        id: expect.stringMatching(/^ev_/),
        type: "order.paid",
        external_id: "order:1073459981:paid",
        status: "processed",
        reason: null,
        points: 181,
        member_id: paid.member_id,
        duplicate: false,
      },
    ]);
    expect((await h.balance(shop, paid.member_id)).available).toBe(181);
    const jane = await h.member(shop, paid.member_id);
    expect(jane).toMatchObject({ email: "jane@example.com", given_name: "John", family_name: "Smith" });
    expect(jane.identifiers.map((identifier: Json) => [identifier.kind, identifier.value])).toContainEqual([
      "shopify",
      "1073339475",
    ]);
    const event = await h.ok(h.api(shop, "GET", `/v1/events/${paid.events[0].id}`), 200);
    expect(event).toMatchObject({
      source: "shopify",
      order_id: "1073459981",
      // processed_at 2025-04-02T11:31:38-05:00
      occurred_at: "2025-04-02T16:31:38.000Z",
      data: { webhook_topic: "orders/paid", webhook_delivery_id: expect.any(String) },
    });
    expect((await h.eventPayload(shop, paid.events[0].id)).order).toEqual({
      id: "1073459981",
      number: "#1002",
      currency: "USD",
      total: 18109,
      subtotal: 18109,
      shop_money: { currency: "USD", total: 18109, subtotal: 18109 },
      product_ids: ["921728736"],
      channel: "755357713",
      country: "CA",
      // Not a Laurel code: the order.paid event carries it and the rewards module finds nothing to mark used.
      discount_codes: ["FAKE30"],
    });

    // order 1073459963 has no customer: a guest checkout, stored skipped, nobody earns its 255 points.
    const guest = await h.ok(send("orders/paid", shopifyFixture(noCustomerOrder)), 200);
    expect(guest.member_id).toBeNull();
    expect(guest.events).toEqual([
      expect.objectContaining({
        type: "order.paid",
        external_id: "order:1073459963:paid",
        status: "skipped",
        reason: "the event names no member (a guest checkout without a customer)",
        points: 0,
        member_id: null,
      }),
    ]);
    expect((await h.stored(shop)).members).toBe(1);
    await h.expectCleanLedger(shop);
  });

  it("earns the 2008 order's points, takes back a refund's share and the rest on cancellation", async () => {
    const { shop, send } = await shopifyShop({ neverExpire: true });

    // customers/create: Bob, found again by his Shopify id when his order arrives.
    const created = await h.ok(send("customers/create", shopifyFixture(bob)), 200);
    expect(created).toMatchObject({ topic: "customers/create", events: [], ignored: null, notes: [] });
    const bobId = created.member_id as string;
    const member = await h.member(shop, bobId);
    expect(member).toMatchObject({
      email: "bob.norman@mail.example.com",
      phone: "+16136120707",
      given_name: "Bob",
      family_name: "Norman",
    });
    expect(member.identifiers.map((identifier: Json) => identifier.kind).sort()).toEqual(["email", "phone", "shopify"]);

    // order 450789469: subtotal 597.00 USD → 597 points (total 598.94, before its refund).
    const paid = await h.ok(send("orders/paid", shopifyFixture(refundedOrder)), 200);
    expect(paid.member_id).toBe(bobId);
    expect(paid.events).toMatchObject([{ type: "order.paid", status: "processed", points: 597 }]);
    expect((await h.eventPayload(shop, paid.events[0].id)).occurred_at).toBe("2008-01-10T16:00:00.000Z");

    // refund 509562969 returned 209.00 of 598.94: floor(597 × 20900 / 59894) = floor(208.32) = 208.
    const refunded = await h.ok(send("refunds/create", shopifyFixture(refund)), 200);
    expect(refunded.events).toEqual([
      expect.objectContaining({
        type: "order.refunded",
        external_id: "refund:509562969",
        status: "processed",
        points: -208,
        member_id: bobId,
      }),
    ]);
    expect((await h.balance(shop, bobId)).available).toBe(597 - 208);
    const explained = await h.ok(h.api(shop, "GET", `/v1/events/${refunded.events[0].id}`), 200);
    expect(explained.explanation.clawback).toMatchObject({
      order_total: 59894,
      refunded_now: 20900,
      points_earned: 597,
      target_reversed: 208,
      reversed_now: 208,
    });

    // orders/cancelled takes back what the order still holds: 597 − 208 = 389.
    const cancelledBody = JSON.parse(shopifyFixture(refundedOrder)) as Json;
    cancelledBody.cancelled_at = "2025-04-03T10:00:00-05:00";
    const cancelled = await h.ok(send("orders/cancelled", JSON.stringify(cancelledBody)), 200);
    expect(cancelled.events).toEqual([
      expect.objectContaining({ type: "order.cancelled", external_id: "order:450789469:cancelled", points: -389 }),
    ]);
    expect(await h.balance(shop, bobId)).toMatchObject({ available: 0, debt: 0 });
    expect((await h.eventPayload(shop, cancelled.events[0].id)).occurred_at).toBe("2025-04-03T15:00:00.000Z");
    await h.expectCleanLedger(shop);
  });

  it("answers a redelivery with its first result, changing nothing", async () => {
    const { shop, send } = await shopifyShop();
    const first = await h.ok(send("orders/paid", shopifyFixture(discountOrder), { id: "redelivered-1" }), 200);
    expect(first.events[0].points).toBe(181);
    const before = await h.stored(shop);

    const again = await send("orders/paid", shopifyFixture(discountOrder), { id: "redelivered-1" });
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual({ ...first, duplicate: true });
    expect(await h.stored(shop)).toEqual(before);
    expect((await h.balance(shop, first.member_id)).available).toBe(181);
  });

  it("awards an order once, whether orders/create or orders/paid comes first", async () => {
    const { shop, send } = await shopifyShop();
    const created = await h.ok(send("orders/create", shopifyFixture(discountOrder)), 200);
    expect(created.events).toMatchObject([{ external_id: "order:1073459981:paid", points: 181, duplicate: false }]);
    const paid = await h.ok(send("orders/paid", shopifyFixture(discountOrder)), 200);
    expect(paid.duplicate).toBe(false);
    expect(paid.events).toMatchObject([{ id: created.events[0].id, points: 181, duplicate: true }]);
    expect(await h.stored(shop)).toMatchObject({ events: 1, deliveries: 2, orders: 1, transactions: 1 });
    expect((await h.balance(shop, created.member_id)).available).toBe(181);

    // An order created unpaid waits for orders/paid.
    const pending = JSON.parse(shopifyFixture(discountOrder)) as Json;
    pending.id = 1073459999;
    pending.financial_status = "pending";
    const waiting = await h.ok(send("orders/create", JSON.stringify(pending)), 200);
    expect(waiting).toMatchObject({ events: [], ignored: expect.stringContaining('"pending"') });
    pending.financial_status = "paid";
    const later = await h.ok(send("orders/paid", JSON.stringify(pending)), 200);
    expect(later.events).toMatchObject([{ external_id: "order:1073459999:paid", points: 181 }]);
    expect((await h.balance(shop, created.member_id)).available).toBe(362);
  });

  it("records an event the ledger refuses as failed, and still accepts the delivery", async () => {
    const { shop, send } = await shopifyShop({ neverExpire: true });
    const paid = await h.ok(send("orders/paid", shopifyFixture(refundedOrder)), 200);
    expect(paid.events[0].points).toBe(597);
    // The refund's money went back in EUR, the order was paid in USD: Laurel cannot count it.
    const eurRefund = JSON.parse(shopifyFixture(refund)) as Json;
    eurRefund.transactions[0].currency = "EUR";
    eurRefund.transactions[0].amount = "190.10";
    const answer = await h.ok(send("refunds/create", JSON.stringify(eurRefund), { id: "eur-refund" }), 200);
    expect(answer.events).toEqual([
      {
        id: null,
        type: "order.refunded",
        external_id: "refund:509562969",
        status: "failed",
        reason: expect.stringContaining("USD"),
        points: 0,
        member_id: null,
        duplicate: false,
        error: { code: "invalid_field_value", detail: expect.stringContaining("USD") },
      },
    ]);
    expect((await h.balance(shop, paid.member_id)).available).toBe(597);
    expect(await h.stored(shop)).toMatchObject({ events: 1, deliveries: 2 });
    // Sent again, it answers the same: the platform stops retrying a body that cannot succeed.
    const again = await h.ok(send("refunds/create", JSON.stringify(eurRefund), { id: "eur-refund" }), 200);
    expect(again).toEqual({ ...answer, duplicate: true });
    // The refund in the order's currency, as a new delivery, still counts.
    const counted = await h.ok(send("refunds/create", shopifyFixture(refund)), 200);
    expect(counted.events).toMatchObject([{ status: "processed", points: -208 }]);
  });

  it("handles two copies of one delivery arriving at once exactly once", async () => {
    const { shop, send } = await shopifyShop();
    const body = shopifyFixture(discountOrder);
    const answers = await Promise.all([
      send("orders/paid", body, { id: "twice-at-once" }),
      send("orders/paid", body, { id: "twice-at-once" }),
    ]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200]);
    expect(answers.map((answer) => answer.json().duplicate).sort()).toEqual([false, true]);
    expect(answers[0]?.json().events).toEqual(answers[1]?.json().events);
    expect(await h.stored(shop)).toMatchObject({ events: 1, deliveries: 1, orders: 1, members: 1 });
    expect((await h.balance(shop, answers[0]?.json().member_id)).available).toBe(181);
  });

  it("earns the EUR order on the shop's own money", async () => {
    // The fixture's shop_money is EUR: a EUR shop. As sent, the order has no customer (skipped).
    const eur = await shopifyShop({ currency: "EUR" });
    const guest = await h.ok(eur.send("orders/paid", shopifyFixture(eurOrder)), 200);
    expect(guest.events).toMatchObject([{ status: "skipped", points: 0 }]);

    // The same bytes with a customer: subtotal 224.97 EUR → 224 points.
    const withCustomer = shopifyFixture(eurOrder).replace(
      '"customer": null',
      '"customer": {"id": 820982911946154508, "email": "ana@example.com", "first_name": "Ana"}',
    );
    const paid = await h.ok(eur.send("orders/paid", withCustomer), 200);
    expect(paid.events).toMatchObject([{ external_id: "order:1073459976:paid", status: "skipped" }]);
    // The second delivery is the same order (same event id): it was already recorded, as a guest's.
    const other = withCustomer.replace('"id": 1073459976', '"id": 1073459977');
    const earned = await h.ok(eur.send("orders/paid", other), 200);
    expect(earned.events).toMatchObject([{ external_id: "order:1073459977:paid", status: "processed", points: 224 }]);
    const ana = await h.member(eur.shop, earned.member_id);
    // A Shopify id beyond 2^53 stays exact.
    expect(ana.identifiers.map((identifier: Json) => identifier.value)).toContain("820982911946154508");

    // A USD shop selling in EUR: shop_money in USD (as Shopify sends it then) is what earns:
    // subtotal 247.47 USD → 247 points, not the 224.97 EUR.
    const usd = await shopifyShop();
    const body = JSON.parse(shopifyFixture(eurOrder)) as Json;
    body.id = 1073459978;
    body.customer = { id: 7012345678901, email: "ana@example.com", first_name: "Ana" };
    body.currency = "USD";
    body.total_price = "262.32";
    body.total_price_set.shop_money = { amount: "262.32", currency_code: "USD" };
    body.subtotal_price = "247.47";
    body.subtotal_price_set.shop_money = { amount: "247.47", currency_code: "USD" };
    body.line_items[0].price = "82.49";
    body.line_items[0].price_set.shop_money = { amount: "82.49", currency_code: "USD" };
    const converted = await h.ok(usd.send("orders/paid", JSON.stringify(body)), 200);
    expect(converted.events).toMatchObject([{ status: "processed", points: 247 }]);
    const explained = await h.ok(h.api(usd.shop, "GET", `/v1/events/${converted.events[0].id}`), 200);
    expect(explained.explanation.order).toMatchObject({
      currency: "EUR",
      subtotal: 22497,
      shop_subtotal: 24747,
      conversion: "platform",
    });

    // The EUR order in a USD shop whose Shopify store is in EUR: the shop money is not the shop's
    // currency, so Laurel needs an exchange rate; without one the event is skipped, saying so.
    const mismatch = await shopifyShop();
    const skipped = await h.ok(mismatch.send("orders/paid", other), 200);
    expect(skipped.events).toMatchObject([{ status: "skipped", reason: expect.stringContaining("exchange rate") }]);
    expect(skipped.notes).toEqual([expect.stringContaining("shop money is in EUR")]);
  });

  it("links a customer's free identifiers and leaves another member's alone", async () => {
    const { shop, send } = await shopifyShop();
    // Somebody already holds Bob's email: customers/create finds that member by it (as an order
    // event would) and links the Shopify id and phone nobody holds.
    const other = await h.ok(
      h.api(shop, "POST", "/v1/members", { identifiers: [{ kind: "email", value: "bob.norman@mail.example.com" }] }),
      201,
    );
    const created = await h.ok(send("customers/create", shopifyFixture(bob)), 200);
    expect(created).toMatchObject({ member_id: other.id, notes: [] });
    expect((await h.member(shop, other.id)).identifiers.map((identifier: Json) => identifier.kind).sort()).toEqual([
      "email",
      "phone",
      "shopify",
    ]);

    // Another Shopify customer: a member of its own.
    const stranger = JSON.parse(shopifyFixture(bob)) as Json;
    stranger.id = 999;
    stranger.email = "stranger@example.com";
    stranger.phone = null;
    stranger.first_name = "Sam";
    const joined = await h.ok(send("customers/create", JSON.stringify(stranger)), 200);
    expect(joined.member_id).not.toBe(other.id);
    expect(joined.notes).toEqual([]);

    // The stranger changes their email to Bob's in Shopify: their member is updated, the email
    // stays with Bob's member, and the webhook still succeeds.
    stranger.email = "BOB.NORMAN@mail.example.com";
    stranger.first_name = "Samuel";
    const kept = await h.ok(send("customers/update", JSON.stringify(stranger)), 200);
    expect(kept.member_id).toBe(joined.member_id);
    expect(kept.notes).toEqual([
      `the email bob.norman@mail.example.com belongs to member ${other.id}: not linked to member ${joined.member_id}`,
    ]);
    expect(await h.member(shop, joined.member_id)).toMatchObject({
      email: "stranger@example.com",
      given_name: "Samuel",
    });
    expect((await h.member(shop, other.id)).email).toBe("bob.norman@mail.example.com");
    expect((await h.stored(shop)).members).toBe(2);
  });

  it("refuses a bad signature with 401 and stores nothing", async () => {
    const { shop, domain, secret } = await shopifyShop();
    const body = shopifyFixture(discountOrder);
    const cases: Array<[string, Parameters<typeof h.shopify>[0]]> = [
      ["another secret", { domain, secret: `${secret}x`, topic: "orders/paid", body }],
      ["no signature", { domain, secret, topic: "orders/paid", body, headers: { "x-shopify-hmac-sha256": undefined } }],
      [
        "a hex digest",
        {
          domain,
          secret,
          topic: "orders/paid",
          body,
          headers: { "x-shopify-hmac-sha256": createHmac("sha256", secret).update(body).digest("hex") },
        },
      ],
    ];
    for (const [name, input] of cases) {
      const problem = await h.ok(h.shopify(input), 401);
      expect(problem.code, name).toBe("invalid_webhook_signature");
    }
    // Signed over the fixture, sent with one field changed.
    const tampered = await t().app.inject({
      method: "POST",
      url: "/v1/integrations/shopify/webhooks",
      headers: {
        "content-type": "application/json",
        "x-shopify-hmac-sha256": sign(body, secret),
        "x-shopify-topic": "orders/paid",
        "x-shopify-shop-domain": domain,
        "x-shopify-webhook-id": "tampered",
      },
      payload: body.replace('"subtotal_price": "181.09"', '"subtotal_price": "18109.00"'),
    });
    expect(tampered.statusCode).toBe(401);
    expect(await h.stored(shop)).toEqual(h.nothing);
  });

  it("names the missing headers (400), and refuses an unknown store (401)", async () => {
    const { shop, domain, secret } = await shopifyShop();
    const body = shopifyFixture(discountOrder);
    const missing = await h.ok(
      h.shopify({
        domain,
        secret,
        topic: "orders/paid",
        body,
        headers: { "x-shopify-topic": undefined, "x-shopify-webhook-id": "" },
      }),
      400,
    );
    expect(missing).toMatchObject({ code: "validation_failed" });
    expect(missing.detail).toContain("X-Shopify-Topic");
    expect(missing.errors.map((error: Json) => error.pointer)).toEqual([
      "/headers/x-shopify-topic",
      "/headers/x-shopify-webhook-id",
    ]);

    const unknown = await h.ok(h.shopify({ domain: "nobody.myshopify.com", secret, topic: "orders/paid", body }), 401);
    expect(unknown.code).toBe("invalid_webhook_signature");
    expect(unknown.detail).toContain("No shop has the Shopify store");
    expect(unknown.detail).toContain("nobody.myshopify.com");
    // The header's case does not matter: Shopify's domains are lower-case, the lookup too.
    const upper = await h.ok(
      h.shopify({ domain: domain.toUpperCase(), secret, topic: "products/update", body: "{}" }),
      200,
    );
    expect(upper.ignored).toContain("products/update");
    expect(await h.stored(shop)).toMatchObject({ events: 0, deliveries: 1, members: 0 });
  });

  it("refuses malformed JSON and bodies of the wrong shape with 400, storing nothing", async () => {
    const { shop, send } = await shopifyShop();
    const malformed = await h.ok(send("orders/paid", '{"id": 1,'), 400);
    expect(malformed).toMatchObject({ code: "malformed_json", errors: [{ pointer: "/body" }] });

    const noId = JSON.parse(shopifyFixture(discountOrder)) as Json;
    delete noId.id;
    const badAmount = JSON.parse(shopifyFixture(discountOrder)) as Json;
    badAmount.total_price_set.presentment_money.amount = "181,09";
    const cases: Array<[string, string, string]> = [
      ["orders/paid", JSON.stringify(noId), "/body/id"],
      // A refund is no order: it names no currency.
      ["orders/paid", shopifyFixture(refund), "/body/currency"],
      ["refunds/create", shopifyFixture(discountOrder), "/body/order_id"],
      ["customers/update", "[]", "/body"],
      ["orders/paid", JSON.stringify(badAmount), "/body/total_price_set/presentment_money/amount"],
    ];
    for (const [topic, body, pointer] of cases) {
      const problem = await h.ok(send(topic, body), 400);
      expect(problem.code, `${topic} ${pointer}`).toBe("validation_failed");
      expect(problem.errors[0].pointer, topic).toBe(pointer);
    }
    expect(await h.stored(shop)).toEqual(h.nothing);
  });

  it("never lets one shop's secret speak for another shop's store", async () => {
    const a = await shopifyShop();
    const b = await shopifyShop();
    const body = shopifyFixture(discountOrder);
    // Signed with A's secret, naming B's domain.
    const problem = await h.ok(h.shopify({ domain: b.domain, secret: a.secret, topic: "orders/paid", body }), 401);
    expect(problem.code).toBe("invalid_webhook_signature");
    expect(await h.stored(a.shop)).toEqual(h.nothing);
    expect(await h.stored(b.shop)).toEqual(h.nothing);
    // Each shop's own delivery lands in that shop only.
    const own = await h.ok(b.send("orders/paid", body), 200);
    expect(own.events[0].points).toBe(181);
    expect(await h.stored(a.shop)).toEqual(h.nothing);
    expect((await h.stored(b.shop)).events).toBe(1);
    // A disconnected store is unknown again.
    await h.ok(
      t().app.inject({ method: "DELETE", url: "/v1/integrations/shopify", headers: bearer(b.shop.secretKey) }),
      204,
    );
    expect((await h.ok(b.send("orders/paid", body), 401)).detail).toContain("No shop has");
  });
});

describeEachDialect("WooCommerce webhooks", (dialect) => {
  const t = useTestApp(dialect);
  const h = harness(t);
  let siteCounter = 0;

  async function wooShop(options: { secret?: string; connectAs?: string } = {}) {
    const shop = await createShop(t());
    const site = `https://shop-${dialect}-${++siteCounter}.example/`;
    const secret = options.secret ?? `wc_${dialect}_${siteCounter}`;
    await h.connect(shop, "woocommerce", options.connectAs ?? site, secret);
    await h.neverExpiring(shop);
    const send = (topic: string, body: string | Buffer, extra: { id?: string; headers?: Json; key?: string } = {}) =>
      h.woo({ source: site, secret: extra.key ?? secret, topic, body, ...extra });
    return { shop, site, secret, send };
  }

  /** order 727 as a registered customer's (customer 25), the fixture's text otherwise unchanged. */
  const customerOrder = () => wooFixture("order-727.json").replace('"customer_id": 0,', '"customer_id": 25,');

  it("answers the creation ping with 200 and stores nothing", async () => {
    const { shop } = await wooShop();
    const answer = await h.ok(
      t().app.inject({
        method: "POST",
        url: "/v1/integrations/woocommerce/webhooks",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: "webhook_id=142",
      }),
      200,
    );
    expect(answer).toEqual({ ping: true });
    expect(await h.stored(shop)).toEqual(h.nothing);
    // Anything else unsigned is refused.
    const unsigned = await h.ok(
      t().app.inject({
        method: "POST",
        url: "/v1/integrations/woocommerce/webhooks",
        headers: { "content-type": "application/json" },
        payload: wooFixture("order-727.json"),
      }),
      401,
    );
    expect(unsigned.code).toBe("invalid_webhook_signature");
  });

  it("syncs the customer fixture into a member", async () => {
    const { shop, send } = await wooShop();
    const created = await h.ok(send("customer.created", wooFixture("customer-25.json")), 200);
    // "(555) 555-5555" is no valid phone number (and the shop has no default country): not linked.
    expect(created.notes).toEqual([expect.stringContaining('phone "(555) 555-5555" is not linked')]);
    const john = await h.member(shop, created.member_id);
    expect(john).toMatchObject({ email: "john.doe@example.com", phone: null, given_name: "John", family_name: "Doe" });
    expect(john.identifiers.map((identifier: Json) => [identifier.kind, identifier.value]).sort()).toEqual([
      ["email", "john.doe@example.com"],
      ["woocommerce", "25"],
    ]);
    const updated = await h.ok(
      send(
        "customer.updated",
        wooFixture("customer-25.json").replace('"first_name": "John",', '"first_name": "Johnny",'),
      ),
      200,
    );
    expect(updated.member_id).toBe(created.member_id);
    expect((await h.member(shop, created.member_id)).given_name).toBe("Johnny");
    expect((await h.stored(shop)).members).toBe(1);
  });

  it("turns order 727 into its events: a guest's skipped, a customer's paid, refunded and cancelled", async () => {
    const { shop, send } = await wooShop();
    // As published, order 727 is a guest checkout (customer_id 0): skipped.
    const guest = await h.ok(send("order.created", wooFixture("order-727.json")), 200);
    expect(guest.events).toEqual([
      expect.objectContaining({
        type: "order.paid",
        external_id: "order:727:paid",
        status: "skipped",
        reason: "the event names no member (a guest checkout without a customer)",
      }),
    ]);

    const other = await wooShop();
    const customer = await h.ok(other.send("customer.created", wooFixture("customer-25.json")), 200);
    // Line totals 6.00 + 12.00 = 18.00 USD (before tax and shipping) → 18 points.
    const paid = await h.ok(other.send("order.created", customerOrder()), 200);
    expect(paid.member_id).toBe(customer.member_id);
    expect(paid.events).toMatchObject([{ type: "order.paid", status: "processed", points: 18 }]);
    const payload = await h.eventPayload(other.shop, paid.events[0].id);
    expect(payload).toMatchObject({
      source: "woocommerce",
      // date_paid_gmt
      occurred_at: "2017-03-22T19:28:08.000Z",
      member: { woocommerce_id: "25", email: "john.doe@example.com", given_name: "John", family_name: "Doe" },
      order: {
        id: "727",
        number: "727",
        currency: "USD",
        total: 2935,
        subtotal: 1800,
        product_ids: ["93", "22"],
        channel: "rest-api",
        country: "US",
      },
    });
    expect(payload.order.shop_money).toBeUndefined();

    // A refund of 10.00 (refund 726's amount) listed by the next order.updated:
    // floor(18 × 1000 / 2935) = floor(6.13) = 6 points back. The paid event is a duplicate.
    const withRefund = customerOrder().replace(
      '"refunds": [],',
      '"refunds": [{"id": 726, "reason": "", "total": "-10.00"}],',
    );
    const refunded = await h.ok(other.send("order.updated", withRefund), 200);
    expect(refunded.events).toMatchObject([
      { type: "order.paid", duplicate: true, points: 18 },
      { type: "order.refunded", external_id: "refund:726", duplicate: false, points: -6 },
    ]);
    expect((await h.balance(other.shop, customer.member_id)).available).toBe(12);

    // The same order sent again after another change (a new delivery): nothing new to count.
    const before = await h.stored(other.shop);
    const resent = await h.ok(
      other.send("order.updated", withRefund.replace('"status": "processing"', '"status": "completed"')),
      200,
    );
    expect(resent.events.map((event: Json) => event.duplicate)).toEqual([true, true]);
    expect(await h.stored(other.shop)).toEqual({ ...before, deliveries: before.deliveries + 1 });

    // Cancelled: the refund again (duplicate), and the 12 points the order still holds back.
    const cancelled = await h.ok(
      other.send("order.updated", withRefund.replace('"status": "processing"', '"status": "cancelled"')),
      200,
    );
    expect(cancelled.events).toMatchObject([
      { type: "order.refunded", duplicate: true },
      { type: "order.cancelled", external_id: "order:727:cancelled", points: -12 },
    ]);
    expect(await h.balance(other.shop, customer.member_id)).toMatchObject({ available: 0, debt: 0 });
    await h.expectCleanLedger(other.shop);

    // An order not paid yet records nothing.
    const pending = await h.ok(
      other.send(
        "order.created",
        customerOrder().replace('"id": 727,', '"id": 728,').replace('"status": "processing"', '"status": "pending"'),
      ),
      200,
    );
    expect(pending).toMatchObject({ events: [], ignored: expect.stringContaining('"pending"') });
    expect((await h.stored(shop)).members).toBe(0);
  });

  it("answers a resent delivery with its first result, but keeps apart two deliveries sharing an id", async () => {
    const { shop, send } = await wooShop();
    await h.ok(send("customer.created", wooFixture("customer-25.json")), 200);
    const first = await h.ok(send("order.created", customerOrder(), { id: "same-second" }), 200);
    const again = await send("order.created", customerOrder(), { id: "same-second" });
    expect(again.statusCode).toBe(200);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual({ ...first, duplicate: true });

    // WooCommerce derives the delivery id from the webhook and the second: another order placed
    // in the same second arrives with the same id, and is its own delivery.
    const second = await h.ok(
      send("order.created", customerOrder().replace('"id": 727,', '"id": 729,'), { id: "same-second" }),
      200,
    );
    expect(second).toMatchObject({ duplicate: false, delivery_id: "same-second" });
    expect(second.events).toMatchObject([{ external_id: "order:729:paid", points: 18, duplicate: false }]);
    expect((await h.balance(shop, first.member_id)).available).toBe(36);
    expect(await h.stored(shop)).toMatchObject({ events: 2, deliveries: 3 });
  });

  it("verifies with the secret as WordPress decodes it", async () => {
    // Stored by WordPress as "p&amp;ss", signed with "p&ss"; Laurel may be given either spelling.
    const entity = await wooShop({ secret: "p&amp;ss" });
    const decoded = await wooShop({ secret: "p&ss" });
    for (const { send } of [entity, decoded]) {
      const answer = await h.ok(send("product.created", "{}", { key: "p&ss" }), 200);
      expect(answer.ignored).toContain("product.created");
    }
    expect((await h.ok(entity.send("product.created", "{}", { key: "p&amp;ss" }), 401)).code).toBe(
      "invalid_webhook_signature",
    );
  });

  it("refuses bad signatures, missing headers, unknown sites and bad bodies, storing nothing", async () => {
    const { shop, site, secret, send } = await wooShop({ connectAs: "HTTPS://SHOP-CASE.example" });
    const body = customerOrder();
    const wrongSite = await h.ok(send("order.created", body), 401);
    expect(wrongSite.detail).toContain("No shop has the WooCommerce store");
    expect(site).not.toBe("https://shop-case.example/");

    // The site as connected (scheme and host lower-cased, a trailing slash): known.
    const source = "https://shop-case.example/";
    const good = (extra: Json = {}) => h.woo({ source, secret, topic: "order.created", body, ...extra });
    expect((await h.ok(good({ secret: "other" }), 401)).code).toBe("invalid_webhook_signature");
    const unsigned = await h.ok(good({ headers: { "x-wc-webhook-signature": undefined } }), 401);
    expect(unsigned.detail).toContain("X-WC-Webhook-Signature is missing");
    const missing = await h.ok(
      good({ headers: { "x-wc-webhook-topic": undefined, "x-wc-webhook-delivery-id": undefined } }),
      400,
    );
    expect(missing.errors.map((error: Json) => error.pointer)).toEqual([
      "/headers/x-wc-webhook-topic",
      "/headers/x-wc-webhook-delivery-id",
    ]);
    const malformed = await h.ok(h.woo({ source, secret, topic: "order.updated", body: "{'id': 727}" }), 400);
    expect(malformed).toMatchObject({ code: "malformed_json", errors: [{ pointer: "/body" }] });
    const deleted = await h.ok(h.woo({ source, secret, topic: "order.updated", body: '{"id": 727}' }), 400);
    expect(deleted.errors[0].pointer).toBe("/body/currency");
    const legacy = await h.ok(
      h.woo({ source, secret, topic: "order.created", body: JSON.stringify({ order: {} }) }),
      400,
    );
    expect(legacy.errors[0].pointer).toBe("/body/id");
    expect(await h.stored(shop)).toEqual(h.nothing);

    const accepted = await h.ok(good(), 200);
    expect(accepted.events).toMatchObject([{ type: "order.paid", status: "processed" }]);
  });
});
