import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AppError } from "../../platform/errors.js";
import { parseWebhookJson } from "../json.js";
import type { PlatformOrder } from "../orders.js";
import { shopifyCustomerFromPayload, shopifyOrderFromPayload, shopifyRefundFromPayload } from "./payloads.js";

const fixtures = new URL("../../../../shared/fixtures/shopify/rest-2026-07/", import.meta.url);

function raw(name: string): string {
  return readFileSync(new URL(name, fixtures), "utf8");
}

// biome-ignore lint/suspicious/noExplicitAny: tests edit fields deep in a fixture's JSON tree
type Json = any;

/** A fixture as a mutable JSON tree, for payloads derived from it in memory (the file stays as it is). */
function fixture(name: string): Json {
  return parseWebhookJson(raw(name));
}

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    expect(appError.code).toBe("validation_failed");
    expect(appError.status).toBe(400);
    return appError;
  }
  throw new Error("the payload was accepted");
}

function pointerOf(run: () => unknown): string | undefined {
  return refusal(run).errors?.[0]?.pointer;
}

const noCustomerOrder = "order-1073459963-3-items-no-customer.json";
const eurOrder = "order-1073459976-EUR-paid.json";
const discountOrder = "order-1073459981-discount-code.json";
const refundedOrder = "order-450789469-partially-refunded.json";

const bob = {
  platformId: "207119551",
  email: "bob.norman@mail.example.com",
  phone: "+16136120707",
  firstName: "Bob",
  lastName: "Norman",
  acceptsMarketing: false,
};

describe("the fixtures", () => {
  it("are the six REST 2026-07 bodies these tests map", () => {
    expect(readdirSync(fixtures).sort()).toEqual([
      "customer-207119551.json",
      noCustomerOrder,
      eurOrder,
      discountOrder,
      refundedOrder,
      "refund-509562969.json",
    ]);
  });
});

describe("shopifyOrderFromPayload", () => {
  it("maps the order with three items and no customer", () => {
    expect(shopifyOrderFromPayload(fixture(noCustomerOrder))).toEqual({
      platform: "shopify",
      externalId: "1073459963",
      orderNumber: "#1002",
      customer: null,
      currency: "USD",
      total: 27037,
      subtotal: 25592,
      shopMoney: { currency: "USD", total: 27037, subtotal: 25592 },
      lineItems: [
        { productId: null, variantId: null, sku: null, title: "Red Leather Coat", quantity: 1, price: 12999 },
        { productId: null, variantId: null, sku: null, title: "Blue Suede Shoes", quantity: 1, price: 8595 },
        { productId: null, variantId: null, sku: null, title: "Raspberry Beret", quantity: 2, price: 1999 },
      ],
      discountCodes: [],
      financialStatus: "paid",
      createdAt: "2025-04-02T16:30:45.000Z",
      cancelledAt: null,
      cartId: null,
      sourceName: "755357713",
      country: null,
      tags: [],
    } satisfies PlatformOrder);
  });

  it("maps the EUR order with its shop money", () => {
    const order = shopifyOrderFromPayload(fixture(eurOrder));
    expect(order).toEqual({
      platform: "shopify",
      externalId: "1073459976",
      orderNumber: "#1002",
      customer: null,
      currency: "EUR",
      total: 23847,
      subtotal: 22497,
      shopMoney: { currency: "EUR", total: 23847, subtotal: 22497 },
      lineItems: [
        { productId: null, variantId: null, sku: null, title: "Big Brown Bear Boots", quantity: 3, price: 7499 },
      ],
      discountCodes: [],
      financialStatus: "paid",
      createdAt: "2025-04-02T16:31:26.000Z",
      cancelledAt: null,
      cartId: null,
      sourceName: "755357713",
      country: null,
      tags: [],
    } satisfies PlatformOrder);
    expect("paidAt" in order).toBe(false);
  });

  it("maps the order with a discount code and an embedded customer", () => {
    expect(shopifyOrderFromPayload(fixture(discountOrder))).toEqual({
      platform: "shopify",
      externalId: "1073459981",
      orderNumber: "#1002",
      customer: {
        platformId: "1073339475",
        email: "jane@example.com",
        // The customer has no phone; the order's SMS phone fills it.
        phone: "+18885551234",
        firstName: "John",
        lastName: "Smith",
        acceptsMarketing: false,
        createdAt: "2025-04-02T16:31:38.000Z",
      },
      currency: "USD",
      total: 18109,
      subtotal: 18109,
      shopMoney: { currency: "USD", total: 18109, subtotal: 18109 },
      lineItems: [
        {
          productId: "921728736",
          variantId: "447654529",
          sku: "IPOD2009BLACK",
          title: "IPod Touch 8GB - Black",
          quantity: 1,
          price: 19900,
        },
      ],
      discountCodes: ["FAKE30"],
      financialStatus: "paid",
      createdAt: "2025-04-02T16:31:38.000Z",
      cancelledAt: null,
      cartId: null,
      sourceName: "755357713",
      country: "CA",
      tags: [],
    } satisfies PlatformOrder);
  });

  it("maps the partially refunded order at its original totals", () => {
    const ipod = { productId: "632910392", title: "IPod Nano - 8gb", quantity: 1, price: 19900 };
    expect(shopifyOrderFromPayload(fixture(refundedOrder))).toEqual({
      platform: "shopify",
      externalId: "450789469",
      orderNumber: "#1001",
      customer: { ...bob, createdAt: "2025-04-02T16:29:59.000Z" },
      currency: "USD",
      // total_price 598.94, not current_total_price 199.65: the refund is its own event.
      total: 59894,
      subtotal: 59700,
      shopMoney: { currency: "USD", total: 59894, subtotal: 59700 },
      lineItems: [
        { ...ipod, variantId: "39072856", sku: "IPOD2008GREEN", title: "IPod Nano - 8gb - green" },
        { ...ipod, variantId: "49148385", sku: "IPOD2008RED", title: "IPod Nano - 8gb - red" },
        { ...ipod, variantId: "457924702", sku: "IPOD2008BLACK", title: "IPod Nano - 8gb - black" },
      ],
      discountCodes: ["TENOFF"],
      financialStatus: "partially_refunded",
      createdAt: "2008-01-10T16:00:00.000Z",
      cancelledAt: null,
      cartId: "68778783ad298f1c80c3bafcddeea02f",
      sourceName: "web",
      country: "US",
      tags: [],
    } satisfies PlatformOrder);
  });

  it("reports presentment money and keeps the shop money aside when the currencies differ", () => {
    // The EUR order as a USD shop selling in EUR would send it: plain fields and shop_money in USD.
    const payload = fixture(eurOrder);
    payload.currency = "USD";
    payload.total_price = "262.32";
    payload.total_price_set.shop_money = { amount: "262.32", currency_code: "USD" };
    payload.subtotal_price = "247.47";
    payload.subtotal_price_set.shop_money = { amount: "247.47", currency_code: "USD" };
    payload.line_items[0].price = "82.49";
    payload.line_items[0].price_set.shop_money = { amount: "82.49", currency_code: "USD" };
    const order = shopifyOrderFromPayload(payload);
    expect(order.currency).toBe("EUR");
    expect(order.total).toBe(23847);
    expect(order.subtotal).toBe(22497);
    expect(order.shopMoney).toEqual({ currency: "USD", total: 26232, subtotal: 24747 });
    expect(order.lineItems[0]?.price).toBe(7499);

    delete payload.line_items[0].price_set;
    expect(refusal(() => shopifyOrderFromPayload(payload)).errors).toEqual([
      {
        pointer: "/body/line_items/0/price_set",
        message: "is required: price is in the shop currency USD, the order in EUR",
      },
    ]);
  });

  it("refuses a money set whose currency disagrees with the order's", () => {
    const payload = fixture(eurOrder);
    payload.subtotal_price_set.presentment_money.currency_code = "USD";
    expect(refusal(() => shopifyOrderFromPayload(payload)).errors).toEqual([
      {
        pointer: "/body/subtotal_price_set/presentment_money/currency_code",
        message: 'must be EUR like the rest of the order, got "USD"',
      },
    ]);
  });

  it("reads the plain amounts in `currency` when the body has no money sets, and has no shop money", () => {
    const payload = fixture(noCustomerOrder);
    for (const key of Object.keys(payload)) if (key.endsWith("_set")) delete payload[key];
    for (const item of payload.line_items) delete item.price_set;
    payload.currency = "JPY";
    payload.total_price = "27037";
    const order = shopifyOrderFromPayload(payload);
    expect(order.currency).toBe("JPY");
    expect(order.total).toBe(27037);
    // "255.92" JPY rounds to 256 yen.
    expect(order.subtotal).toBe(256);
    expect(order.shopMoney).toBeNull();
    expect(order.lineItems.map((item) => item.price)).toEqual([130, 86, 20]);
  });

  it("keeps ids beyond 2^53 exact when the raw body is parsed with parseWebhookJson", () => {
    const text = raw(noCustomerOrder).replace('"id": 1073459963,', '"id": 820982911946154508,');
    expect(shopifyOrderFromPayload(parseWebhookJson(text)).externalId).toBe("820982911946154508");
    expect(pointerOf(() => shopifyOrderFromPayload(JSON.parse(text)))).toBe("/body/id");
  });

  it("makes a guest of an order without a customer but with an email", () => {
    const payload = fixture(noCustomerOrder);
    payload.email = " guest@example.com ";
    payload.buyer_accepts_marketing = true;
    payload.billing_address = { first_name: "Ana", last_name: "Silva", country_code: "br" };
    payload.shipping_address = { country_code: "PT" };
    const order = shopifyOrderFromPayload(payload);
    expect(order.customer).toEqual({
      platformId: null,
      email: "guest@example.com",
      phone: null,
      firstName: "Ana",
      lastName: "Silva",
      acceptsMarketing: true,
      createdAt: null,
    });
    expect(order.country).toBe("BR");
    payload.billing_address = null;
    expect(shopifyOrderFromPayload(payload).country).toBe("PT");
  });

  it("reads tags, cancellation and channel", () => {
    const payload = fixture(discountOrder);
    payload.tags = "VIP, wholesale ,, Léon";
    payload.cancelled_at = "2025-04-03T09:00:00+02:00";
    payload.source_name = "pos";
    payload.customer.email_marketing_consent.state = "subscribed";
    const order = shopifyOrderFromPayload(payload);
    expect(order.tags).toEqual(["VIP", "wholesale", "Léon"]);
    expect(order.cancelledAt).toBe("2025-04-03T07:00:00.000Z");
    expect(order.sourceName).toBe("pos");
    expect(order.customer?.acceptsMarketing).toBe(true);
  });

  it.each([null, [], "order", 42])("refuses the body %j, which is not an object", (body) => {
    expect(refusal(() => shopifyOrderFromPayload(body)).errors?.[0]?.pointer).toBe("/body");
  });

  it.each([
    ["a missing id", (order: Json) => delete order.id, "/body/id"],
    ["an id that is no number", (order: Json) => (order.id = "abc"), "/body/id"],
    [
      "a total in garbage",
      (order: Json) => (order.total_price_set.presentment_money.amount = "12,00"),
      "/body/total_price_set/presentment_money/amount",
    ],
    [
      "a negative total",
      (order: Json) => (order.total_price_set.presentment_money.amount = "-1.00"),
      "/body/total_price_set/presentment_money/amount",
    ],
    [
      "an unknown currency",
      (order: Json) => (order.total_price_set.presentment_money.currency_code = "XXY"),
      "/body/total_price_set/presentment_money/currency_code",
    ],
    ["no shop money", (order: Json) => delete order.total_price_set.shop_money, "/body/total_price_set/shop_money"],
    ["a created_at without offset", (order: Json) => (order.created_at = "2025-04-02T11:30:45"), "/body/created_at"],
    ["no line items", (order: Json) => delete order.line_items, "/body/line_items"],
    ["a negative quantity", (order: Json) => (order.line_items[1].quantity = -1), "/body/line_items/1/quantity"],
    ["a quantity as text", (order: Json) => (order.line_items[1].quantity = "1"), "/body/line_items/1/quantity"],
    ["a line item that is no object", (order: Json) => (order.line_items[2] = "beret"), "/body/line_items/2"],
    [
      "a discount code without code",
      (order: Json) => (order.discount_codes = [{ amount: "1.00" }]),
      "/body/discount_codes/0/code",
    ],
    ["a customer that is a string", (order: Json) => (order.customer = "bob"), "/body/customer"],
    ["tags that are a list", (order: Json) => (order.tags = ["vip"]), "/body/tags"],
  ])("refuses %s", (_case, edit, pointer) => {
    const payload = fixture(noCustomerOrder);
    edit(payload);
    expect(pointerOf(() => shopifyOrderFromPayload(payload))).toBe(pointer);
  });
});

describe("shopifyRefundFromPayload", () => {
  it("maps the refund to the sum of its refund transactions", () => {
    // Its lines add up to 399.29 (195.66 + 3.98 + 195.67 + 3.98); the shop returned 209.00.
    expect(shopifyRefundFromPayload(fixture("refund-509562969.json"))).toEqual({
      platform: "shopify",
      refundId: "509562969",
      orderExternalId: "450789469",
      createdAt: "2025-04-02T16:38:15.000Z",
      currency: "USD",
      amount: 20900,
      shopMoney: { currency: "USD", amount: 20900 },
    });
  });

  it("maps the refund embedded in the partially refunded order the same way", () => {
    const order = fixture(refundedOrder);
    expect(order.refunds).toHaveLength(1);
    expect(shopifyRefundFromPayload(order.refunds[0])).toEqual({
      platform: "shopify",
      refundId: "509562969",
      orderExternalId: "450789469",
      createdAt: "2025-04-02T16:29:59.000Z",
      currency: "USD",
      amount: 20900,
      shopMoney: { currency: "USD", amount: 20900 },
    });
  });

  it("counts pending refund transactions, not failed ones, and ignores other kinds", () => {
    const payload = fixture("refund-509562969.json");
    const transaction = payload.transactions[0];
    payload.transactions = [
      { ...transaction, amount: "100.00", status: "failure" },
      { ...transaction, amount: "5.00", status: "error" },
      { ...transaction, amount: "20.50", status: "pending" },
      { ...transaction, amount: "1.25" },
      { ...transaction, amount: "999.00", kind: "void" },
      { ...transaction, amount: "999.00", kind: "sale" },
    ];
    expect(shopifyRefundFromPayload(payload).amount).toBe(2175);
    payload.transactions = [{ ...transaction, status: "failure" }];
    expect(shopifyRefundFromPayload(payload)).toMatchObject({ amount: 0, currency: "USD" });
  });

  it("has no shop money when the money went back in another currency than the shop's", () => {
    const payload = fixture("refund-509562969.json");
    payload.transactions[0].currency = "EUR";
    payload.transactions[0].amount = "190.10";
    expect(shopifyRefundFromPayload(payload)).toMatchObject({ currency: "EUR", amount: 19010, shopMoney: null });
  });

  it("refuses refund transactions in two currencies", () => {
    const payload = fixture("refund-509562969.json");
    payload.transactions.push({ ...payload.transactions[0], currency: "CAD" });
    expect(pointerOf(() => shopifyRefundFromPayload(payload))).toBe("/body/transactions/1/currency");
  });

  it("falls back to the refunded lines (subtotal + tax) when there is no refund transaction", () => {
    const payload = fixture("refund-509562969.json");
    payload.transactions = [];
    expect(shopifyRefundFromPayload(payload)).toMatchObject({
      currency: "USD",
      amount: 39929,
      shopMoney: { currency: "USD", amount: 39929 },
    });
    delete payload.transactions;
    payload.refund_line_items = [];
    expect(shopifyRefundFromPayload(payload)).toMatchObject({
      currency: "USD",
      amount: 0,
      shopMoney: { currency: "USD", amount: 0 },
    });
  });

  it.each([
    ["a missing id", (refund: Json) => delete refund.id, "/body/id"],
    ["a missing order id", (refund: Json) => delete refund.order_id, "/body/order_id"],
    ["a missing created_at", (refund: Json) => delete refund.created_at, "/body/created_at"],
    [
      "a transaction amount in garbage",
      (refund: Json) => (refund.transactions[0].amount = "2O9.00"),
      "/body/transactions/0/amount",
    ],
    [
      "a transaction without currency",
      (refund: Json) => delete refund.transactions[0].currency,
      "/body/transactions/0/currency",
    ],
  ])("refuses %s", (_case, edit, pointer) => {
    const payload = fixture("refund-509562969.json");
    edit(payload);
    expect(pointerOf(() => shopifyRefundFromPayload(payload))).toBe(pointer);
  });

  it.each([null, [], "refund"])("refuses the body %j, which is not an object", (body) => {
    expect(pointerOf(() => shopifyRefundFromPayload(body))).toBe("/body");
  });
});

describe("shopifyCustomerFromPayload", () => {
  it("maps the customer", () => {
    expect(shopifyCustomerFromPayload(fixture("customer-207119551.json"))).toEqual({
      ...bob,
      createdAt: "2025-04-02T16:25:58.000Z",
    });
  });

  it("reads marketing consent, and the legacy flag without a consent object", () => {
    const payload = fixture("customer-207119551.json");
    payload.email_marketing_consent.state = "subscribed";
    expect(shopifyCustomerFromPayload(payload).acceptsMarketing).toBe(true);
    payload.email_marketing_consent.state = "pending";
    expect(shopifyCustomerFromPayload(payload).acceptsMarketing).toBe(false);
    payload.email_marketing_consent = null;
    expect(shopifyCustomerFromPayload(payload).acceptsMarketing).toBeNull();
    payload.accepts_marketing = true;
    expect(shopifyCustomerFromPayload(payload).acceptsMarketing).toBe(true);
  });

  it("refuses a customer without id or with a bad email type", () => {
    const payload = fixture("customer-207119551.json");
    payload.email = 42;
    expect(pointerOf(() => shopifyCustomerFromPayload(payload))).toBe("/body/email");
    delete payload.id;
    expect(pointerOf(() => shopifyCustomerFromPayload(payload))).toBe("/body/id");
  });
});
