import type { IncomingHttpHeaders } from "node:http";
import { objectAt, optionalTimestamp } from "../json.js";
import type { DeliveryPlan } from "../routes.js";
import { parseDeliveryBody as parse, readDeliveryHeaders } from "../webhook-request.js";
import { shopifyCustomerFromPayload, shopifyOrderFromPayload, shopifyRefundFromPayload } from "./payloads.js";

/**
 * Shopify webhook deliveries: reading the headers, and what each topic becomes. The route, the
 * signature check, deduplication and the database work are shared with WooCommerce in
 * ../routes.ts; the guide is docs/integrations/shopify.md.
 */

export interface ShopifyHeaders {
  hmac: string;
  topic: string;
  shopDomain: string;
  webhookId: string;
}

/**
 * The delivery headers Laurel needs. Without X-Shopify-Hmac-Sha256 the request is unauthenticated
 * (401 invalid_webhook_signature); without the others it cannot be handled (400
 * validation_failed naming each missing header).
 */
export function readShopifyHeaders(headers: IncomingHttpHeaders): ShopifyHeaders {
  const { signature, ...rest } = readDeliveryHeaders(headers, {
    platform: "Shopify",
    signature: "X-Shopify-Hmac-Sha256",
    unsigned:
      "X-Shopify-Hmac-Sha256 is missing: Shopify signs every webhook, so this request did not come from Shopify (or a proxy dropped the header)",
    required: [
      ["topic", "X-Shopify-Topic"],
      ["shopDomain", "X-Shopify-Shop-Domain"],
      ["webhookId", "X-Shopify-Webhook-Id"],
    ],
  });
  return { hmac: signature, ...rest };
}

/** The topics Laurel acts on; any other is acknowledged and ignored. */
export const shopifyTopics = [
  "orders/paid",
  "orders/create",
  "orders/cancelled",
  "refunds/create",
  "customers/create",
  "customers/update",
] as const;

/** When the order was processed (`processed_at`, e.g. an import's original date), else created. */
function processedAt(json: unknown, createdAt: string): string {
  return optionalTimestamp(objectAt(json, "/body"), "processed_at", "/body") ?? createdAt;
}

/**
 * What a delivery of `topic` asks Laurel to do:
 *
 * - `orders/paid`: the order is paid (`order.paid`).
 * - `orders/create`: the same, when the order is created already paid (`financial_status` "paid",
 *   the usual online checkout); else nothing until orders/paid. Both name the event
 *   `order:<id>:paid`, so whichever arrives second is a duplicate and the order earns once.
 * - `refunds/create`: `order.refunded` for what the shop returned.
 * - `orders/cancelled`: `order.cancelled`, which takes back what the order still holds.
 * - `customers/create`, `customers/update`: the member with this Shopify customer id.
 * - anything else: ignored (the body is not even parsed).
 *
 * Throws a 400 AppError for a body that is not valid JSON or not the topic's resource.
 */
export function shopifyDeliveryPlan(topic: string, raw: Buffer): DeliveryPlan {
  const none: DeliveryPlan = { actions: [], customer: null, ignored: null };
  switch (topic) {
    case "orders/paid":
    case "orders/create": {
      const json = parse(raw);
      const order = shopifyOrderFromPayload(json);
      if (topic === "orders/create" && order.financialStatus !== "paid") {
        return {
          ...none,
          ignored: `orders/create of an order whose financial_status is ${JSON.stringify(order.financialStatus)}: it earns when orders/paid arrives`,
        };
      }
      return { ...none, actions: [{ kind: "order.paid", order, occurredAt: processedAt(json, order.createdAt) }] };
    }
    case "orders/cancelled": {
      const order = shopifyOrderFromPayload(parse(raw));
      return { ...none, actions: [{ kind: "order.cancelled", order, occurredAt: order.cancelledAt }] };
    }
    case "refunds/create":
      return { ...none, actions: [{ kind: "order.refunded", refund: shopifyRefundFromPayload(parse(raw)) }] };
    case "customers/create":
    case "customers/update":
      return { ...none, customer: shopifyCustomerFromPayload(parse(raw)) };
    default:
      return {
        ...none,
        ignored: `Laurel does not act on the Shopify topic ${topic}; it handles ${shopifyTopics.join(", ")}`,
      };
  }
}
