import type { RewardValue } from "../../modules/rewards/catalog.js";
import type { IssuedReward } from "../../modules/rewards/codes.js";
import type { Money } from "../../modules/rules/index.js";
import { currencyMinorUnits, isCurrencyCode } from "../../platform/intl.js";
import { objectAt, parseWebhookJson, requiredId } from "../json.js";

/**
 * The outbound half of the Shopify integration: a redemption's code becomes a Shopify discount, a
 * price rule (what the discount does) plus a discount code (what the shopper types), through the
 * REST Admin API. The guide is docs/integrations/shopify-discounts.md.
 *
 * Shopify ids are 64-bit and pass 2^53 (a JS number rounds them), so they are kept as their exact
 * digits everywhere: in the price rule built here they are BigInts, written into the request as
 * bare JSON numbers by `jsonText`; in answers they are read with parseWebhookJson, which keeps
 * digits too large for a double as strings.
 */

export interface ShopifyDiscountInput {
  /** The Laurel code the member holds; becomes the discount code. */
  code: string;
  issued: IssuedReward;
  /** ISO 4217 code of the Shopify store's currency: the Laurel shop's base currency. */
  storeCurrency: string;
  /**
   * The member's Shopify customer id (decimal digits, may exceed 2^53) to restrict the code to, or
   * null for anyone holding the code. Sent as a JSON number written from these digits, never
   * through a JS number.
   */
  customerId: string | null;
  /** ISO 8601: when the code starts working (usually the redemption time). */
  startsAt: string;
  /** ISO 8601: when the code expires; null: never. */
  endsAt: string | null;
  /** The price rule's title. Shopify recommends the code itself, so the admin lists it under that name. */
  title: string;
}

export interface ShopifyAdminClientOptions {
  /** The store's myshopify domain: example.myshopify.com. */
  domain: string;
  /** An Admin API access token with the write_price_rules scope (a custom app's shpat_… token). */
  accessToken: string;
  /** The Admin API version in the path, e.g. "2025-07". */
  apiVersion: string;
  /** Scheme and host requests go to; default https://{domain}. Tests point it at a local server. */
  origin?: string;
  fetch?: typeof fetch;
  /** Per request, including reading the answer; default 10000. */
  timeoutMs?: number;
}

/**
 * Shopify refused or could not be reached. `status` is null when no answer came (network error,
 * timeout). `retryable`: 429, 5xx and no answer may succeed later; other 4xx will not.
 */
export class ShopifyApiError extends Error {
  readonly status: number | null;
  readonly body: string;
  readonly retryable: boolean;

  constructor(message: string, options: { status: number | null; body: string; retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ShopifyApiError";
    this.status = options.status;
    this.body = options.body;
    this.retryable = options.retryable;
  }
}

const defaultTimeoutMs = 10_000;

// A Shopify REST id: up to 20 digits (an unsigned 64-bit integer), no leading zero.
const idDigits = /^[1-9]\d{0,19}$/;
const variantGid = /^gid:\/\/shopify\/ProductVariant\/([1-9]\d{0,19})$/;

function inCurrency(list: Money[], currency: string): Money | undefined {
  return list.find((money) => money.currency === currency);
}

/**
 * Integer minor units as a decimal string with the currency's digits, on the integer's digits
 * (never a float): 1000 USD → "10.00", 500 JPY → "500", 1250 KWD → "1.250".
 */
function decimalAmount(minor: number, currency: string): string {
  const places = currencyMinorUnits(currency);
  const digits = BigInt(minor)
    .toString()
    .padStart(places + 1, "0");
  if (places === 0) return digits;
  return `${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}`;
}

/** A percent as Shopify writes it: 15 → "-15.0". */
function negativePercent(percent: number): string {
  return `-${Number.isInteger(percent) ? `${percent}.0` : String(percent)}`;
}

function formatted(money: Money): string {
  return `${decimalAmount(money.amount, money.currency)} ${money.currency}`;
}

/** A Shopify variant id from a reward's variant_id: its digits, or Shopify's GraphQL gid. */
function variantId(text: string): bigint | null {
  const trimmed = text.trim();
  if (idDigits.test(trimmed)) return BigInt(trimmed);
  const match = variantGid.exec(trimmed);
  return match ? BigInt(match[1] as string) : null;
}

type Target = Record<string, unknown>;

/** What the reward type becomes: target, allocation and value; or why Shopify cannot express it. */
function targetOf(issued: IssuedReward, storeCurrency: string): Target | { unsupported: string } {
  const value: RewardValue = issued.value;
  switch (issued.type) {
    case "amount_off": {
      const amounts = (value as { amounts: Money[] }).amounts;
      const amount = inCurrency(amounts, storeCurrency);
      if (!amount) {
        return {
          unsupported: `the reward has no amount in the store currency ${storeCurrency} (it names ${amounts.map((money) => money.currency).join(", ") || "none"}): Shopify applies a fixed amount in the store currency`,
        };
      }
      if (!Number.isSafeInteger(amount.amount) || amount.amount <= 0) {
        return {
          unsupported: `the reward's amount ${amount.amount} ${storeCurrency} is not a positive number of minor units`,
        };
      }
      return {
        target_type: "line_item",
        target_selection: "all",
        allocation_method: "across",
        value_type: "fixed_amount",
        value: `-${decimalAmount(amount.amount, storeCurrency)}`,
      };
    }
    case "percent_off": {
      const { percent, max_amounts } = value as { percent: number; max_amounts: Money[] };
      if (max_amounts.length > 0) {
        return {
          unsupported: `the reward caps the discount at ${max_amounts.map(formatted).join(", ")}: a Shopify price rule cannot cap a percentage, so the code would give more than the reward`,
        };
      }
      if (!(percent > 0 && percent <= 100))
        return { unsupported: `the reward's percent ${percent} is not from 1 to 100` };
      return {
        target_type: "line_item",
        target_selection: "all",
        allocation_method: "across",
        value_type: "percentage",
        value: negativePercent(percent),
      };
    }
    case "free_shipping": {
      const { max_amounts } = value as { max_amounts: Money[] };
      if (max_amounts.length > 0) {
        return {
          unsupported: `the reward covers shipping only up to ${max_amounts.map(formatted).join(", ")}: a Shopify price rule cannot cap a free shipping discount (prerequisite_shipping_price_range excludes dearer rates instead of covering part of them)`,
        };
      }
      // Shipping lines take `each` only; 100% off each shipping line is free shipping.
      return {
        target_type: "shipping_line",
        target_selection: "all",
        allocation_method: "each",
        value_type: "percentage",
        value: "-100.0",
      };
    }
    case "free_product": {
      const given = (value as { variant_id: string }).variant_id;
      const id = variantId(given);
      if (id === null) {
        return {
          unsupported: `the reward's variant_id ${JSON.stringify(given)} is not a Shopify variant id (its digits, or gid://shopify/ProductVariant/<digits>)`,
        };
      }
      // 100% off each unit of the variant; usage_limit 1 makes it one order. allocation_limit (one
      // unit per order) is for Buy X Get Y rules only, so it is not sent: a shopper adding two
      // units gets both free.
      return {
        target_type: "line_item",
        target_selection: "entitled",
        entitled_variant_ids: [id],
        allocation_method: "each",
        value_type: "percentage",
        value: "-100.0",
      };
    }
    case "custom":
      return { unsupported: "the merchant fulfils custom rewards: there is no discount for Shopify to apply" };
    case "store_credit":
      return { unsupported: "store credit is a balance, not a code: it is spent from the member's balance" };
  }
  return { unsupported: `Laurel does not know the reward type ${JSON.stringify(issued.type)}` };
}

/**
 * The Shopify price rule a redemption's code needs, or why Shopify cannot express the reward.
 * Pure: no request is made. Ids in the result (prerequisite_customer_ids, entitled_variant_ids)
 * are BigInts so they stay exact; send the rule with createShopifyDiscount, which writes them as
 * JSON numbers.
 *
 * - amount_off: fixed_amount across all line items, the amount in the store currency.
 * - percent_off: percentage across all line items; a capped percent is unsupported.
 * - free_shipping: 100% off each shipping line; a capped one is unsupported.
 * - free_product: 100% off the entitled variant; with a minimum order it is unsupported (Shopify
 *   measures the minimum on the entitled items only, here the free product itself).
 * - custom, store_credit: unsupported.
 * - min_order: prerequisite_subtotal_range in the store currency; only other currencies:
 *   unsupported (Laurel would refuse every cart in the store currency).
 * - customerId: only that customer may use it; always usage_limit 1 and once_per_customer.
 *
 * Throws a TypeError for an input no reward explains: an unknown store currency or a customer id
 * that is not decimal digits.
 */
export function shopifyPriceRule(
  input: ShopifyDiscountInput,
): { priceRule: Record<string, unknown> } | { unsupported: string } {
  const { issued, storeCurrency } = input;
  if (!isCurrencyCode(storeCurrency)) {
    throw new TypeError(`storeCurrency ${JSON.stringify(storeCurrency)} is not an ISO 4217 currency code`);
  }
  if (input.customerId !== null && !idDigits.test(input.customerId)) {
    throw new TypeError(`customerId ${JSON.stringify(input.customerId)} is not a Shopify customer id (decimal digits)`);
  }
  const target = targetOf(issued, storeCurrency);
  if ("unsupported" in target) return { unsupported: target.unsupported as string };

  let subtotalRange: { greater_than_or_equal_to: string } | undefined;
  if (issued.min_order.length > 0) {
    const minimum = inCurrency(issued.min_order, storeCurrency);
    if (!minimum) {
      return {
        unsupported: `the reward's minimum order is only in ${issued.min_order.map((money) => money.currency).join(", ")}, not the store currency ${storeCurrency}: Laurel would refuse every cart in the store currency`,
      };
    }
    if (minimum.amount > 0) {
      if (issued.type === "free_product") {
        return {
          unsupported: `the reward needs a minimum order of ${formatted(minimum)}: on a Shopify price rule for one product the minimum counts that product only, not the cart`,
        };
      }
      subtotalRange = { greater_than_or_equal_to: decimalAmount(minimum.amount, storeCurrency) };
    }
  }

  const { target_type, target_selection, entitled_variant_ids, allocation_method, value_type, value } = target;
  const priceRule: Record<string, unknown> = {
    title: input.title,
    target_type,
    target_selection,
    ...(entitled_variant_ids === undefined ? {} : { entitled_variant_ids }),
    allocation_method,
    value_type,
    value,
    customer_selection: input.customerId === null ? "all" : "prerequisite",
    ...(input.customerId === null ? {} : { prerequisite_customer_ids: [BigInt(input.customerId)] }),
    ...(subtotalRange === undefined ? {} : { prerequisite_subtotal_range: subtotalRange }),
    usage_limit: 1,
    once_per_customer: true,
    starts_at: input.startsAt,
    ...(input.endsAt === null ? {} : { ends_at: input.endsAt }),
  };
  return { priceRule };
}

/**
 * JSON text in which a BigInt is written as a bare JSON number of its exact digits (JSON.stringify
 * refuses BigInts, and a JS number would round an id beyond 2^53). Undefined object fields are
 * left out.
 */
function jsonText(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map((item) => jsonText(item)).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const fields = Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .map(([key, field]) => `${JSON.stringify(key)}:${jsonText(field)}`);
    return `{${fields.join(",")}}`;
  }
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`cannot write ${typeof value} as JSON`);
  return text;
}

function excerpt(body: string): string {
  return body.length > 500 ? `${body.slice(0, 500)}…` : body;
}

/** One Admin API request; the answer's text for a 2xx, else a ShopifyApiError. */
async function request(
  options: ShopifyAdminClientOptions,
  method: "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const origin = (options.origin ?? `https://${options.domain}`).replace(/\/+$/, "");
  const urlPath = `/admin/api/${encodeURIComponent(options.apiVersion)}/${path}`;
  const headers: Record<string, string> = {
    "X-Shopify-Access-Token": options.accessToken,
    Accept: "application/json",
    "User-Agent": "Laurel",
  };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const doFetch = options.fetch ?? fetch;
  const what = `Shopify ${method} ${urlPath}`;
  let status: number;
  let text: string;
  try {
    // The signal also bounds reading the body: a server that stalls mid-answer times out too.
    const response = await doFetch(`${origin}${urlPath}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: jsonText(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    throw new ShopifyApiError(
      timedOut
        ? `${what} did not answer within ${timeoutMs} ms`
        : `${what} failed: ${error instanceof Error ? error.message : String(error)}`,
      { status: null, body: "", retryable: true, cause: error },
    );
  }
  if (status < 200 || status > 299) {
    throw new ShopifyApiError(`${what} answered ${status}: ${excerpt(text)}`, {
      status,
      body: text,
      retryable: status === 429 || status >= 500,
    });
  }
  return { status, text };
}

/** `{"<resource>": {"id": …}}` from a 2xx answer, the id as its exact digits. */
function createdId(answer: { status: number; text: string }, resource: string, what: string): string {
  try {
    const json = objectAt(parseWebhookJson(answer.text), "");
    return requiredId(objectAt(json[resource], `/${resource}`), "id", `/${resource}`);
  } catch (error) {
    // Shopify may have created it: retrying could make a second one, so this is not retryable.
    throw new ShopifyApiError(
      `${what} answered ${answer.status} without a readable ${resource}.id (${error instanceof Error ? error.message : String(error)}): ${excerpt(answer.text)}`,
      { status: answer.status, body: answer.text, retryable: false, cause: error },
    );
  }
}

/**
 * Creates the Shopify discount for a redemption's code: POST price_rules.json, then POST
 * price_rules/{id}/discount_codes.json with the code. Answers both ids (exact digits), or
 * `{unsupported}` without any request when Shopify cannot express the reward.
 *
 * When the discount code cannot be created the price rule is deleted, so no rule without a code is
 * left behind, and the discount code's error is thrown (its message says if the delete failed
 * too). Errors are ShopifyApiError; `retryable` says whether calling again may succeed (a retry
 * after a timed-out first call may leave a codeless price rule, which no shopper can use).
 */
export async function createShopifyDiscount(
  options: ShopifyAdminClientOptions,
  input: ShopifyDiscountInput,
): Promise<{ priceRuleId: string; discountCodeId: string } | { unsupported: string }> {
  const built = shopifyPriceRule(input);
  if ("unsupported" in built) return built;

  const ruleAnswer = await request(options, "POST", "price_rules.json", { price_rule: built.priceRule });
  const priceRuleId = createdId(ruleAnswer, "price_rule", "Shopify POST price_rules.json");

  try {
    const codeAnswer = await request(options, "POST", `price_rules/${priceRuleId}/discount_codes.json`, {
      discount_code: { code: input.code },
    });
    const discountCodeId = createdId(
      codeAnswer,
      "discount_code",
      `Shopify POST price_rules/${priceRuleId}/discount_codes.json`,
    );
    return { priceRuleId, discountCodeId };
  } catch (error) {
    try {
      await deleteShopifyDiscount(options, priceRuleId);
    } catch (deleteError) {
      if (error instanceof Error) {
        error.message += `; the price rule ${priceRuleId} could not be deleted and is left without a code (${deleteError instanceof Error ? deleteError.message : String(deleteError)})`;
      }
    }
    throw error;
  }
}

/**
 * Deletes a price rule and with it its discount code, e.g. when the redemption is cancelled. A
 * price rule Shopify does not know (404) counts as already deleted.
 */
export async function deleteShopifyDiscount(options: ShopifyAdminClientOptions, priceRuleId: string): Promise<void> {
  if (!idDigits.test(priceRuleId)) {
    throw new TypeError(`priceRuleId ${JSON.stringify(priceRuleId)} is not a Shopify price rule id (decimal digits)`);
  }
  try {
    await request(options, "DELETE", `price_rules/${priceRuleId}.json`);
  } catch (error) {
    if (error instanceof ShopifyApiError && error.status === 404) return;
    throw error;
  }
}
