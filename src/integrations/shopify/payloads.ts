import {
  invalid,
  isObject,
  type JsonObject,
  objectAt,
  optionalArray,
  optionalBoolean,
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
 * Shopify webhook bodies (REST Admin API resources at the webhook's API version, no wrapper) into
 * Laurel's platform-neutral shapes. The guide is docs/integrations/shopify.md.
 */

const body = "/body";

/**
 * The currencies of one order. Shopify's plain amount fields ("total_price": "598.94") are in the
 * shop currency; each has a `*_set` twin with `shop_money` and `presentment_money` (what the
 * customer saw and paid). With the sets, Laurel reports presentment amounts and keeps the shop
 * amounts aside; without them, everything is in the shop currency and `shopCurrency` is null.
 */
interface OrderCurrencies {
  currency: string;
  shopCurrency: string | null;
}

interface Amount {
  amount: number;
  shop: number | null;
}

/** `money.<bag>.amount` after checking `money.<bag>.currency_code` is `currency`. */
function bagAmount(set: JsonObject, bag: "shop_money" | "presentment_money", base: string, currency: string): number {
  const pointer = `${base}/${bag}`;
  const money = objectAt(set[bag], pointer);
  const code = requiredCurrency(money, "currency_code", pointer);
  if (code !== currency) {
    throw invalid(`${pointer}/currency_code`, `must be ${currency} like the rest of the order, got "${code}"`);
  }
  return requiredAmount(money, "amount", pointer, currency);
}

/** The amount `key` of an order part, from `<key>_set` when the order has sets, else the plain field. */
function orderAmount(object: JsonObject, key: string, base: string, currencies: OrderCurrencies): Amount {
  const { currency, shopCurrency } = currencies;
  const set = shopCurrency === null ? null : optionalObject(object, `${key}_set`, base);
  if (set !== null && shopCurrency !== null) {
    return {
      amount: bagAmount(set, "presentment_money", `${base}/${key}_set`, currency),
      shop: bagAmount(set, "shop_money", `${base}/${key}_set`, shopCurrency),
    };
  }
  if (shopCurrency !== null && shopCurrency !== currency) {
    throw invalid(
      `${base}/${key}_set`,
      `is required: ${key} is in the shop currency ${shopCurrency}, the order in ${currency}`,
    );
  }
  const amount = requiredAmount(object, key, base, currency);
  return { amount, shop: shopCurrency === null ? null : amount };
}

function orderCurrencies(order: JsonObject): OrderCurrencies {
  const totalSet = optionalObject(order, "total_price_set", body);
  if (totalSet === null) return { currency: requiredCurrency(order, "currency", body), shopCurrency: null };
  const base = `${body}/total_price_set`;
  return {
    currency: requiredCurrency(
      objectAt(totalSet.presentment_money, `${base}/presentment_money`),
      "currency_code",
      `${base}/presentment_money`,
    ),
    shopCurrency: requiredCurrency(
      objectAt(totalSet.shop_money, `${base}/shop_money`),
      "currency_code",
      `${base}/shop_money`,
    ),
  };
}

/**
 * Email marketing consent: `email_marketing_consent.state` "subscribed" is true and any other state
 * (not_subscribed, pending, unsubscribed, redacted, invalid) false; older API versions' boolean
 * `accepts_marketing` when there is no consent object; else null.
 */
function acceptsMarketing(customer: JsonObject, base: string): boolean | null {
  const consent = optionalObject(customer, "email_marketing_consent", base);
  if (consent === null) return optionalBoolean(customer, "accepts_marketing", base);
  const state = optionalString(consent, "state", `${base}/email_marketing_consent`);
  return state === null ? null : state === "subscribed";
}

function customerFrom(customer: JsonObject, base: string, platformId: string | null): PlatformCustomer {
  return {
    platformId,
    email: optionalString(customer, "email", base),
    phone: optionalString(customer, "phone", base),
    firstName: optionalString(customer, "first_name", base),
    lastName: optionalString(customer, "last_name", base),
    acceptsMarketing: acceptsMarketing(customer, base),
    createdAt: optionalTimestamp(customer, "created_at", base),
  };
}

/**
 * The order's customer: the embedded `customer` when there is one, its blanks filled from the order
 * (email, phone) and the billing address (names). Without it, a guest (platformId null) when the
 * order has an email or phone; null when it has neither.
 */
function orderCustomer(order: JsonObject): PlatformCustomer | null {
  const email = optionalString(order, "email", body) ?? optionalString(order, "contact_email", body);
  const phone = optionalString(order, "phone", body);
  const billing = optionalObject(order, "billing_address", body);
  const billingBase = `${body}/billing_address`;
  const firstName = billing && optionalString(billing, "first_name", billingBase);
  const lastName = billing && optionalString(billing, "last_name", billingBase);
  const embedded = optionalObject(order, "customer", body);
  if (embedded !== null) {
    const base = `${body}/customer`;
    const customer = customerFrom(embedded, base, optionalId(embedded, "id", base));
    return {
      ...customer,
      email: customer.email ?? email,
      phone: customer.phone ?? phone,
      firstName: customer.firstName ?? firstName,
      lastName: customer.lastName ?? lastName,
    };
  }
  if (email === null && phone === null) return null;
  return {
    platformId: null,
    email,
    phone,
    firstName,
    lastName,
    acceptsMarketing: optionalBoolean(order, "buyer_accepts_marketing", body),
    createdAt: null,
  };
}

function lineItem(value: unknown, base: string, currencies: OrderCurrencies): PlatformLineItem {
  const item = objectAt(value, base);
  return {
    productId: optionalId(item, "product_id", base),
    variantId: optionalId(item, "variant_id", base),
    sku: optionalString(item, "sku", base),
    // `name` is the product and variant title ("IPod Nano - 8gb - green"); `title` the product's.
    title: optionalString(item, "name", base) ?? requiredString(item, "title", base).trim(),
    quantity: requiredCount(item, "quantity", base),
    price: orderAmount(item, "price", base, currencies).amount,
  };
}

function orderNumber(order: JsonObject): string | null {
  const name = optionalString(order, "name", body);
  if (name !== null) return name;
  const number = order.order_number;
  return typeof number === "number" && Number.isSafeInteger(number) ? String(number) : null;
}

/**
 * An `orders/create`, `orders/updated`, `orders/paid` or `orders/cancelled` body. Totals are the
 * order as placed (`total_price`, `subtotal_price`), not `current_*`, which already subtract
 * refunds: refunds arrive as their own `refunds/create` events and would otherwise count twice.
 */
export function shopifyOrderFromPayload(json: unknown): PlatformOrder {
  const order = objectAt(json, body);
  const externalId = requiredId(order, "id", body);
  const currencies = orderCurrencies(order);
  const total = orderAmount(order, "total_price", body, currencies);
  const subtotal = orderAmount(order, "subtotal_price", body, currencies);
  const shipping = optionalObject(order, "shipping_address", body);
  return {
    platform: "shopify",
    externalId,
    orderNumber: orderNumber(order),
    customer: orderCustomer(order),
    currency: currencies.currency,
    total: total.amount,
    subtotal: subtotal.amount,
    shopMoney:
      currencies.shopCurrency === null || total.shop === null || subtotal.shop === null
        ? null
        : { currency: currencies.shopCurrency, total: total.shop, subtotal: subtotal.shop },
    lineItems: requiredArray(order, "line_items", body).map((value, index) =>
      lineItem(value, `${body}/line_items/${index}`, currencies),
    ),
    discountCodes: optionalArray(order, "discount_codes", body).map((value, index) => {
      const base = `${body}/discount_codes/${index}`;
      return requiredString(objectAt(value, base), "code", base).trim();
    }),
    cartId: optionalString(order, "cart_token", body),
    financialStatus: optionalString(order, "financial_status", body),
    createdAt: requiredTimestamp(order, "created_at", body),
    cancelledAt: optionalTimestamp(order, "cancelled_at", body),
    sourceName: optionalString(order, "source_name", body),
    country:
      optionalCountry(optionalObject(order, "billing_address", body), "country_code") ??
      optionalCountry(shipping, "country_code"),
    tags: (optionalString(order, "tags", body) ?? "")
      .split(",")
      .map((tag) => tag.trim())
      .filter((tag) => tag !== ""),
  };
}

/** A `customers/create` or `customers/update` body. */
export function shopifyCustomerFromPayload(json: unknown): PlatformCustomer {
  const customer = objectAt(json, body);
  return customerFrom(customer, body, requiredId(customer, "id", body));
}

// A refund transaction that failed returned nothing; a pending one is on its way back and Shopify
// sends no second refunds/create when it settles, so it counts.
const unsuccessful = new Set(["failure", "error"]);

/** Both amounts of a `*_set`: presentment (the refund's currency) and shop. */
function setAmounts(
  object: JsonObject,
  key: string,
  base: string,
): { currency: string; amount: number; shopCurrency: string; shopAmount: number } {
  const pointer = `${base}/${key}`;
  const set = objectAt(object[key], pointer);
  const presentment = objectAt(set.presentment_money, `${pointer}/presentment_money`);
  const shop = objectAt(set.shop_money, `${pointer}/shop_money`);
  const currency = requiredCurrency(presentment, "currency_code", `${pointer}/presentment_money`);
  const shopCurrency = requiredCurrency(shop, "currency_code", `${pointer}/shop_money`);
  return {
    currency,
    amount: requiredAmount(presentment, "amount", `${pointer}/presentment_money`, currency),
    shopCurrency,
    shopAmount: requiredAmount(shop, "amount", `${pointer}/shop_money`, shopCurrency),
  };
}

/** The shop currency named anywhere in the refund's money sets, if any. */
function refundShopCurrency(refund: JsonObject): string | null {
  const sets = [refund.total_duties_set, refund.total_additional_fees_set];
  for (const line of optionalArray(refund, "refund_line_items", body)) {
    if (isObject(line)) sets.push(line.subtotal_set);
  }
  for (const set of sets) {
    const shop = isObject(set) ? set.shop_money : undefined;
    if (isObject(shop) && typeof shop.currency_code === "string") return shop.currency_code;
  }
  return null;
}

/**
 * A `refunds/create` body. The amount is what the shop actually returned: the sum of the refund's
 * transactions of kind "refund" (a failed or errored one counts 0), in their currency. Only a
 * refund without any refund transaction falls back to its lines: each refund line item's subtotal
 * plus tax (`subtotal_set`, `total_tax_set`, presentment money). A refund with neither is 0.
 *
 * Shop money: with transactions, the same amount when their currency is the shop currency (named
 * by the refund's `*_set.shop_money`), else null (transactions carry no shop amount; convert with
 * the rate table); with lines, the lines' shop money.
 */
export function shopifyRefundFromPayload(json: unknown): PlatformRefund {
  const refund = objectAt(json, body);
  const refundId = requiredId(refund, "id", body);
  const orderExternalId = requiredId(refund, "order_id", body);
  const createdAt = requiredTimestamp(refund, "created_at", body);
  const transactions = optionalArray(refund, "transactions", body)
    .map((value, index) => {
      const base = `${body}/transactions/${index}`;
      return { base, transaction: objectAt(value, base) };
    })
    .filter(({ base, transaction }) => optionalString(transaction, "kind", base) === "refund");

  const first = transactions[0];
  if (first !== undefined) {
    const currency = requiredCurrency(first.transaction, "currency", first.base);
    let amount = 0;
    for (const { base, transaction } of transactions) {
      const transactionCurrency = requiredCurrency(transaction, "currency", base);
      if (transactionCurrency !== currency) {
        throw invalid(
          `${base}/currency`,
          `must be ${currency} like the refund's other transactions, got "${transactionCurrency}"`,
        );
      }
      const paid = requiredAmount(transaction, "amount", base, currency);
      if (!unsuccessful.has(optionalString(transaction, "status", base) ?? "")) amount += paid;
    }
    return {
      platform: "shopify",
      refundId,
      orderExternalId,
      createdAt,
      currency,
      amount,
      shopMoney: refundShopCurrency(refund) === currency ? { currency, amount } : null,
    };
  }

  const lines = optionalArray(refund, "refund_line_items", body).map((value, index) => {
    const base = `${body}/refund_line_items/${index}`;
    const line = objectAt(value, base);
    return { base, subtotal: setAmounts(line, "subtotal_set", base), tax: setAmounts(line, "total_tax_set", base) };
  });
  const firstLine = lines[0];
  if (firstLine === undefined) {
    // Neither money returned nor a line refunded: 0, in the currency the refund's sets name.
    const setKey = isObject(refund.total_duties_set) ? "total_duties_set" : "total_additional_fees_set";
    const { currency, shopCurrency } = setAmounts(refund, setKey, body);
    return {
      platform: "shopify",
      refundId,
      orderExternalId,
      createdAt,
      currency,
      amount: 0,
      shopMoney: { currency: shopCurrency, amount: 0 },
    };
  }
  const { currency, shopCurrency } = firstLine.subtotal;
  let amount = 0;
  let shopAmount = 0;
  for (const { base, subtotal, tax } of lines) {
    for (const [key, part] of [
      ["subtotal_set", subtotal],
      ["total_tax_set", tax],
    ] as const) {
      if (part.currency !== currency || part.shopCurrency !== shopCurrency) {
        throw invalid(
          `${base}/${key}`,
          `must be in ${currency} (shop money ${shopCurrency}) like the refund's other lines`,
        );
      }
      amount += part.amount;
      shopAmount += part.shopAmount;
    }
  }
  return {
    platform: "shopify",
    refundId,
    orderExternalId,
    createdAt,
    currency,
    amount,
    shopMoney: { currency: shopCurrency, amount: shopAmount },
  };
}
