import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AppError } from "../../platform/errors.js";
import { parseWebhookJson } from "../json.js";
import type { PlatformOrder } from "../orders.js";
import {
  wooCustomerFromPayload,
  wooOrderFromPayload,
  wooRefundFromPayload,
  wooRefundsFromOrderPayload,
} from "./payloads.js";

const fixtures = new URL("../../../../shared/fixtures/woocommerce/rest-v3-docs/", import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: tests edit fields deep in a fixture's JSON tree
type Json = any;

/** A fixture as a mutable JSON tree, for payloads derived from it in memory (the file stays as it is). */
function fixture(name: string): Json {
  return parseWebhookJson(readFileSync(new URL(name, fixtures)));
}

function pointerOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("validation_failed");
    return (error as AppError).errors?.[0]?.pointer;
  }
  throw new Error("the payload was accepted");
}

const order727: PlatformOrder = {
  platform: "woocommerce",
  externalId: "727",
  orderNumber: "727",
  customer: {
    platformId: null,
    email: "john.doe@example.com",
    phone: "(555) 555-5555",
    firstName: "John",
    lastName: "Doe",
    acceptsMarketing: null,
    createdAt: null,
  },
  currency: "USD",
  total: 2935,
  subtotal: 1800,
  shopMoney: null,
  lineItems: [
    { productId: "93", variantId: null, sku: null, title: "Woo Single #1", quantity: 2, price: 300 },
    {
      productId: "22",
      variantId: "23",
      sku: "Bar3",
      title: "Ship Your Idea &ndash; Color: Black, Size: M Test",
      quantity: 1,
      price: 1200,
    },
  ],
  discountCodes: [],
  financialStatus: "processing",
  createdAt: "2017-03-22T19:28:02.000Z",
  paidAt: "2017-03-22T19:28:08.000Z",
  cancelledAt: null,
  sourceName: "rest-api",
  country: "US",
  tags: [],
};

describe("the fixtures", () => {
  it("are the four REST v3 documentation examples these tests map", () => {
    expect(readdirSync(fixtures).sort()).toEqual([
      "customer-25.json",
      "order-727.json",
      "order-refund-726.json",
      "webhook-142.json",
    ]);
  });
});

describe("wooOrderFromPayload", () => {
  it("maps order 727, a guest checkout", () => {
    expect(wooOrderFromPayload(fixture("order-727.json"))).toEqual(order727);
  });

  it("reads a registered customer, coupons, a cancellation and an unpaid order", () => {
    const payload = fixture("order-727.json");
    payload.customer_id = 25;
    payload.coupon_lines = [{ id: 320, code: "summer10 ", discount: "1.80" }];
    payload.status = "cancelled";
    payload.date_modified_gmt = "2017-03-23T08:00:00";
    payload.date_paid_gmt = null;
    payload.billing.country = "";
    const order = wooOrderFromPayload(payload);
    expect(order.customer?.platformId).toBe("25");
    expect(order.discountCodes).toEqual(["summer10"]);
    expect(order.financialStatus).toBe("cancelled");
    expect(order.cancelledAt).toBe("2017-03-23T08:00:00.000Z");
    expect(order.paidAt).toBeNull();
    // The billing country is blank, so the shipping address tells.
    expect(order.country).toBe("US");
  });

  it("has no customer when the order names neither a customer nor a billing contact", () => {
    const payload = fixture("order-727.json");
    payload.billing.email = "";
    payload.billing.phone = "";
    expect(wooOrderFromPayload(payload).customer).toBeNull();
  });

  it("prices a line at its subtotal per unit, rounded half up", () => {
    const payload = fixture("order-727.json");
    payload.line_items[0].quantity = 3;
    payload.line_items[0].subtotal = "10.00";
    payload.line_items[1].quantity = 2;
    payload.line_items[1].subtotal = "0.05";
    expect(wooOrderFromPayload(payload).lineItems.map((item) => item.price)).toEqual([333, 3]);
  });

  it("reads amounts in the order's currency, money given as numbers included", () => {
    const payload = fixture("order-727.json");
    payload.currency = "JPY";
    payload.total = "2935";
    payload.line_items[0].total = 600;
    payload.line_items[0].subtotal = 600;
    payload.line_items[1].total = "1200";
    payload.line_items[1].subtotal = "1200";
    const order = wooOrderFromPayload(payload);
    expect(order).toMatchObject({ currency: "JPY", total: 2935, subtotal: 1800 });
    expect(order.lineItems.map((item) => item.price)).toEqual([300, 1200]);
  });

  it("refuses the webhook configuration object and a deleted-order body, which are no orders", () => {
    expect(pointerOf(() => wooOrderFromPayload(fixture("webhook-142.json")))).toBe("/body/currency");
    expect(pointerOf(() => wooOrderFromPayload({ id: 727 }))).toBe("/body/currency");
  });

  it.each([null, [], "webhook_id=142", 727])("refuses the body %j, which is not an object", (body) => {
    expect(pointerOf(() => wooOrderFromPayload(body))).toBe("/body");
  });

  it.each([
    ["a missing id", (order: Json) => delete order.id, "/body/id"],
    ["a guest id of 0 as the order id", (order: Json) => (order.id = 0), "/body/id"],
    ["a total with a comma", (order: Json) => (order.total = "29,35"), "/body/total"],
    ["a total as null", (order: Json) => (order.total = null), "/body/total"],
    ["a lower-case currency", (order: Json) => (order.currency = "usd"), "/body/currency"],
    ["a local date without the GMT one", (order: Json) => delete order.date_created_gmt, "/body/date_created_gmt"],
    [
      "a date with a space",
      (order: Json) => (order.date_created_gmt = "2017-03-22 19:28:02"),
      "/body/date_created_gmt",
    ],
    ["a line quantity as text", (order: Json) => (order.line_items[0].quantity = "2"), "/body/line_items/0/quantity"],
    ["a line without subtotal", (order: Json) => delete order.line_items[1].subtotal, "/body/line_items/1/subtotal"],
    [
      "a line with a product id as text",
      (order: Json) => (order.line_items[1].product_id = "x22"),
      "/body/line_items/1/product_id",
    ],
    ["a coupon without code", (order: Json) => (order.coupon_lines = [{ id: 1 }]), "/body/coupon_lines/0/code"],
    ["a billing address that is a list", (order: Json) => (order.billing = []), "/body/billing"],
  ])("refuses %s", (_case, edit, pointer) => {
    const payload = fixture("order-727.json");
    edit(payload);
    expect(pointerOf(() => wooOrderFromPayload(payload))).toBe(pointer);
  });
});

describe("wooRefundsFromOrderPayload", () => {
  it("finds no refund in order 727", () => {
    expect(wooRefundsFromOrderPayload(fixture("order-727.json"))).toEqual([]);
  });

  it("maps the refunds an order.updated body lists", () => {
    const payload = fixture("order-727.json");
    payload.status = "refunded";
    payload.date_modified_gmt = "2017-03-24T10:15:00";
    payload.refunds = [
      { id: 731, reason: "", total: "-19.35" },
      { id: 730, reason: "damaged", total: "-10.00" },
    ];
    const refund = {
      platform: "woocommerce",
      orderExternalId: "727",
      createdAt: "2017-03-24T10:15:00.000Z",
      currency: "USD",
      shopMoney: null,
    };
    expect(wooRefundsFromOrderPayload(payload)).toEqual([
      { ...refund, refundId: "731", amount: 1935 },
      { ...refund, refundId: "730", amount: 1000 },
    ]);
  });

  it.each([
    ["a refund without id", (order: Json) => (order.refunds = [{ total: "-1.00" }]), "/body/refunds/0/id"],
    [
      "a refund total in garbage",
      (order: Json) => (order.refunds = [{ id: 1, total: "-1,00" }]),
      "/body/refunds/0/total",
    ],
    ["refunds that are an object", (order: Json) => (order.refunds = { id: 1 }), "/body/refunds"],
    [
      "a refund without date_modified_gmt",
      (order: Json) => {
        order.refunds = [{ id: 1, total: "-1.00" }];
        delete order.date_modified_gmt;
      },
      "/body/date_modified_gmt",
    ],
  ])("refuses %s", (_case, edit, pointer) => {
    const payload = fixture("order-727.json");
    edit(payload);
    expect(pointerOf(() => wooRefundsFromOrderPayload(payload))).toBe(pointer);
  });
});

describe("wooRefundFromPayload", () => {
  it("maps refund 726, its order taken from _links.up", () => {
    expect(wooRefundFromPayload(fixture("order-refund-726.json"), { currency: "USD" })).toEqual({
      platform: "woocommerce",
      refundId: "726",
      orderExternalId: "723",
      createdAt: "2017-03-21T20:07:11.000Z",
      currency: "USD",
      amount: 1000,
      shopMoney: null,
    });
  });

  it("takes the order id and the currency the caller knows", () => {
    const refund = wooRefundFromPayload(fixture("order-refund-726.json"), { currency: "KWD", orderId: "900" });
    expect(refund).toMatchObject({ orderExternalId: "900", currency: "KWD", amount: 10000 });
  });

  it("refuses a refund it cannot place", () => {
    const payload = fixture("order-refund-726.json");
    delete payload._links;
    expect(pointerOf(() => wooRefundFromPayload(payload, { currency: "USD" }))).toBe("/body/_links/up");
    expect(pointerOf(() => wooRefundFromPayload(payload, { currency: "USD", orderId: "#723" }))).toBe("/orderId");
    expect(pointerOf(() => wooRefundFromPayload(fixture("order-refund-726.json"), { currency: "dollar" }))).toBe(
      "/currency",
    );
  });

  it.each([
    ["a missing id", (refund: Json) => delete refund.id, "/body/id"],
    ["a negative amount", (refund: Json) => (refund.amount = "-10.00"), "/body/amount"],
    ["an amount in garbage", (refund: Json) => (refund.amount = "ten"), "/body/amount"],
    ["a missing date", (refund: Json) => delete refund.date_created_gmt, "/body/date_created_gmt"],
  ])("refuses %s", (_case, edit, pointer) => {
    const payload = fixture("order-refund-726.json");
    edit(payload);
    expect(pointerOf(() => wooRefundFromPayload(payload, { currency: "USD" }))).toBe(pointer);
  });
});

describe("wooCustomerFromPayload", () => {
  it("maps customer 25", () => {
    expect(wooCustomerFromPayload(fixture("customer-25.json"))).toEqual({
      platformId: "25",
      email: "john.doe@example.com",
      phone: "(555) 555-5555",
      firstName: "John",
      lastName: "Doe",
      acceptsMarketing: null,
      createdAt: "2017-03-21T19:09:28.000Z",
    });
  });

  it("fills blank profile fields from the billing address", () => {
    const payload = fixture("customer-25.json");
    payload.email = "";
    payload.first_name = "";
    payload.billing.email = "billing@example.com";
    payload.billing.first_name = "Johnny";
    expect(wooCustomerFromPayload(payload)).toMatchObject({ email: "billing@example.com", firstName: "Johnny" });
  });

  it("refuses a customer without id, or with an email that is no string", () => {
    const payload = fixture("customer-25.json");
    payload.email = ["john.doe@example.com"];
    expect(pointerOf(() => wooCustomerFromPayload(payload))).toBe("/body/email");
    expect(pointerOf(() => wooCustomerFromPayload({ email: "x@example.com" }))).toBe("/body/id");
    expect(pointerOf(() => wooCustomerFromPayload("customer"))).toBe("/body");
  });
});
