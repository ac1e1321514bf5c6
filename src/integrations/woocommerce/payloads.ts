import { isCurrencyCode } from "../../platform/intl.js";
import {
  invalid,
  isObject,
  type JsonObject,
  objectAt,
  optionalArray,
  optionalCountry,
  optionalId,
  optionalObject,
  optionalString,
  optionalTimestamp,
  requiredAmount,
  requiredArray,
  requiredCount,
  requiredCurrency,
  requiredId,
  requiredString,
  requiredTimestamp,
} from "../json.js";
import type { PlatformCustomer, PlatformLineItem, PlatformOrder, PlatformRefund } from "../orders.js";

/**
 * WooCommerce webhook bodies (for wp_api_v3 webhooks, the REST v3 resource exactly as
 * GET /wc/v3/<resource>/<id> returns it) into Laurel's platform-neutral shapes. The guide is
 * docs/integrations/woocommerce.md.
 *
 * All money of an order is in its `currency`; WooCommerce has no second (shop) currency, so
 * `shopMoney` is null. Timestamps are read from the `*_gmt` fields, which are UTC written without
 * an offset; the others are in the site's time zone, which the body does not name.
 */

const body = "/body";
const utc = { utc: true };

function orderNumber(order: JsonObject): string | null {
  const number = order.number;
  if (typeof number === "number" && Number.isSafeInteger(number)) return String(number);
  return optionalString(order, "number", body);
}

/**
 * The order's customer, from the billing address (an order body embeds no customer): the
 * `customer_id` as platformId, or null for a guest checkout (`customer_id: 0`); null altogether
 * when the order has neither a customer id nor a billing email or phone. WooCommerce reports no
 * marketing consent.
 */
function orderCustomer(order: JsonObject): PlatformCustomer | null {
  const platformId = optionalId(order, "customer_id", body);
  const billing = optionalObject(order, "billing", body);
  const base = `${body}/billing`;
  const email = billing && optionalString(billing, "email", base);
  const phone = billing && optionalString(billing, "phone", base);
  if (platformId === null && email === null && phone === null) return null;
  return {
    platformId,
    email,
    phone,
    firstName: billing && optionalString(billing, "first_name", base),
    lastName: billing && optionalString(billing, "last_name", base),
    acceptsMarketing: null,
    createdAt: null,
  };
}

/**
 * A line item. `price` is the unit price before coupons, `subtotal` ÷ `quantity` rounded half up,
 * to match Shopify's line price: WooCommerce's own `price` field is after coupons (total ÷
 * quantity) and a float.
 */
function lineItem(value: unknown, base: string, currency: string): { item: PlatformLineItem; total: number } {
  const line = objectAt(value, base);
  const quantity = requiredCount(line, "quantity", base);
  const subtotal = requiredAmount(line, "subtotal", base, currency);
  const item = {
    productId: optionalId(line, "product_id", base),
    variantId: optionalId(line, "variation_id", base),
    sku: optionalString(line, "sku", base),
    // Titles are kept as WooCommerce sends them, HTML entities included ("&ndash;").
    title: requiredString(line, "name", base).trim(),
    quantity,
    price: quantity === 0 ? subtotal : Math.floor((2 * subtotal + quantity) / (2 * quantity)),
  };
  return { item, total: requiredAmount(line, "total", base, currency) };
}

/**
 * An `order.created` / `order.updated` body. `subtotal` is the sum of the line items' `total`
 * (after coupons, before tax; shipping and fees are not items). `financialStatus` is the order
 * `status` (pending, processing, on-hold, completed, cancelled, refunded, failed). WooCommerce
 * records no cancellation time: a cancelled order's `cancelledAt` is its `date_modified_gmt`.
 */
export function wooOrderFromPayload(json: unknown): PlatformOrder {
  const order = objectAt(json, body);
  const externalId = requiredId(order, "id", body);
  const currency = requiredCurrency(order, "currency", body);
  const lines = requiredArray(order, "line_items", body).map((value, index) =>
    lineItem(value, `${body}/line_items/${index}`, currency),
  );
  const status = optionalString(order, "status", body);
  const billing = optionalObject(order, "billing", body);
  const shipping = optionalObject(order, "shipping", body);
  return {
    platform: "woocommerce",
    externalId,
    orderNumber: orderNumber(order),
    customer: orderCustomer(order),
    currency,
    total: requiredAmount(order, "total", body, currency),
    subtotal: lines.reduce((sum, line) => sum + line.total, 0),
    shopMoney: null,
    lineItems: lines.map((line) => line.item),
    discountCodes: optionalArray(order, "coupon_lines", body).map((value, index) => {
      const base = `${body}/coupon_lines/${index}`;
      return requiredString(objectAt(value, base), "code", base).trim();
    }),
    financialStatus: status,
    createdAt: requiredTimestamp(order, "date_created_gmt", body, utc),
    paidAt: optionalTimestamp(order, "date_paid_gmt", body, utc),
    cancelledAt: status === "cancelled" ? requiredTimestamp(order, "date_modified_gmt", body, utc) : null,
    sourceName: optionalString(order, "created_via", body),
    country: optionalCountry(billing, "country") ?? optionalCountry(shipping, "country"),
    tags: [],
  };
}

/**
 * The refunds an order body lists. WooCommerce has no refund webhook topic: a refund reaches Laurel
 * as an `order.updated` delivery whose `refunds` lists every refund so far as
 * `{id, reason, total: "-10.00"}`. The amount is that total without its sign, in the order's
 * currency. The list carries no dates, so every refund gets the order's `date_modified_gmt`, which
 * is the refund's time in the delivery that first lists it; ingestion keeps the first delivery of
 * each refund id.
 */
export function wooRefundsFromOrderPayload(json: unknown): PlatformRefund[] {
  const order = objectAt(json, body);
  const orderExternalId = requiredId(order, "id", body);
  const refunds = optionalArray(order, "refunds", body);
  if (refunds.length === 0) return [];
  const currency = requiredCurrency(order, "currency", body);
  const createdAt = requiredTimestamp(order, "date_modified_gmt", body, utc);
  return refunds.map((value, index) => {
    const base = `${body}/refunds/${index}`;
    const refund = objectAt(value, base);
    return {
      platform: "woocommerce",
      refundId: requiredId(refund, "id", base),
      orderExternalId,
      createdAt,
      currency,
      amount: Math.abs(requiredAmount(refund, "total", base, currency, { negative: true })),
      shopMoney: null,
    };
  });
}

/** The order id in a refund's `_links.up` (`…/wc/v3/orders/723`), if there is one. */
function orderIdFromLinks(refund: JsonObject): string | null {
  const links = refund._links;
  const up = isObject(links) && Array.isArray(links.up) ? links.up[0] : undefined;
  const href = isObject(up) ? up.href : undefined;
  return typeof href === "string" ? (/\/orders\/(\d{1,20})\/?$/.exec(href)?.[1] ?? null) : null;
}

/**
 * An order refund resource (GET /wc/v3/orders/<order>/refunds/<id>), the full form of an entry in
 * an order's `refunds`, e.g. when Laurel reads it back or a custom action webhook sends it. It names
 * neither the currency nor (except in `_links.up`) the order, so the caller passes the order's
 * `currency` and, when it knows it, `orderId`. The amount is `amount`, what the shop recorded as
 * refunded.
 */
export function wooRefundFromPayload(json: unknown, order: { currency: string; orderId?: string }): PlatformRefund {
  const refund = objectAt(json, body);
  const refundId = requiredId(refund, "id", body);
  if (!isCurrencyCode(order.currency)) {
    throw invalid("/currency", `must be the order's ISO 4217 currency code, got ${JSON.stringify(order.currency)}`);
  }
  if (order.orderId !== undefined && !/^\d{1,20}$/.test(order.orderId)) {
    throw invalid("/orderId", `must be a WooCommerce order id, got ${JSON.stringify(order.orderId)}`);
  }
  const orderExternalId = order.orderId ?? orderIdFromLinks(refund);
  if (orderExternalId === null) {
    throw invalid(`${body}/_links/up`, "must link the refund's order (…/orders/<id>) when no order id is given");
  }
  return {
    platform: "woocommerce",
    refundId,
    orderExternalId,
    createdAt: requiredTimestamp(refund, "date_created_gmt", body, utc),
    currency: order.currency,
    amount: requiredAmount(refund, "amount", body, order.currency),
    shopMoney: null,
  };
}

/** A `customer.created` / `customer.updated` body; the billing address fills blank fields. */
export function wooCustomerFromPayload(json: unknown): PlatformCustomer {
  const customer = objectAt(json, body);
  const billing = optionalObject(customer, "billing", body);
  const base = `${body}/billing`;
  return {
    platformId: requiredId(customer, "id", body),
    email: optionalString(customer, "email", body) ?? (billing && optionalString(billing, "email", base)),
    phone: billing && optionalString(billing, "phone", base),
    firstName: optionalString(customer, "first_name", body) ?? (billing && optionalString(billing, "first_name", base)),
    lastName: optionalString(customer, "last_name", body) ?? (billing && optionalString(billing, "last_name", base)),
    acceptsMarketing: null,
    createdAt: optionalTimestamp(customer, "date_created_gmt", body, utc),
  };
}
