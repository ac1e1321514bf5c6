import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { DeliveryAction, DeliveryPlan } from "../routes.js";
import { headerValue, parseDeliveryBody as parse, readDeliveryHeaders } from "../webhook-request.js";
import { wooCustomerFromPayload, wooOrderFromPayload, wooRefundsFromOrderPayload } from "./payloads.js";

/**
 * WooCommerce webhook deliveries: the creation ping, the headers, the signing key and what each
 * topic becomes. The route, the signature check, deduplication and the database work are shared
 * with Shopify in ../routes.ts; the guide is docs/integrations/woocommerce.md.
 */

export interface WooHeaders {
  signature: string;
  topic: string;
  source: string;
  deliveryId: string;
}

/**
 * The ping WooCommerce sends when a webhook is saved with a delivery URL: the form-encoded body
 * `webhook_id=<id>` without a signature. WooCommerce refuses to save the webhook unless it gets a
 * 200, so it is answered before anything is checked, and nothing is stored.
 */
export function isWooPing(headers: IncomingHttpHeaders, raw: Buffer): boolean {
  return (
    headerValue(headers, "x-wc-webhook-signature") === null &&
    /^webhook_id=\d{1,20}$/.test(raw.toString("latin1").trim())
  );
}

/**
 * The delivery headers Laurel needs. Without X-WC-Webhook-Signature the request is
 * unauthenticated (401 invalid_webhook_signature); without the others it cannot be handled (400
 * validation_failed naming each missing header).
 */
export function readWooHeaders(headers: IncomingHttpHeaders): WooHeaders {
  return readDeliveryHeaders(headers, {
    platform: "WooCommerce",
    signature: "X-WC-Webhook-Signature",
    unsigned:
      "X-WC-Webhook-Signature is missing: WooCommerce signs every delivery with the webhook's secret, so this request did not come from WooCommerce (or a proxy dropped the header)",
    required: [
      ["topic", "X-WC-Webhook-Topic"],
      ["source", "X-WC-Webhook-Source"],
      ["deliveryId", "X-WC-Webhook-Delivery-ID"],
    ],
  });
}

// WordPress's wp_specialchars_decode($text, ENT_QUOTES): zero-padded numeric entities are
// normalized first, then each of these is replaced in one pass (PHP strtr), so "&amp;lt;" is "&lt;".
const paddedEntities: Array<[RegExp, string]> = [
  [/&#0*39;/g, "&#039;"],
  [/&#x0*27;/gi, "&#x27;"],
  [/&#0*34;/g, "&#034;"],
  [/&#x0*22;/gi, "&#x22;"],
  [/&#0*60;/g, "&#060;"],
  [/&#0*62;/g, "&#062;"],
  [/&#0*38;/g, "&#038;"],
  [/&#x0*26;/gi, "&#x26;"],
];
const entities: Record<string, string> = {
  "&#039;": "'",
  "&#x27;": "'",
  "&quot;": '"',
  "&#034;": '"',
  "&#x22;": '"',
  "&lt;": "<",
  "&#060;": "<",
  "&gt;": ">",
  "&#062;": ">",
  "&amp;": "&",
  "&#038;": "&",
  "&#x26;": "&",
};
const entityPattern = /&(?:#039|#x27|quot|#034|#x22|lt|#060|gt|#062|amp|#038|#x26);/g;

/**
 * The HMAC key of a webhook secret: WooCommerce signs with wp_specialchars_decode(secret,
 * ENT_QUOTES), so a secret WordPress stored as `a&amp;b` signs with `a&b`. A secret as typed
 * (`a&b`) has no entity and is its own key.
 */
export function wooSigningKey(secret: string): string {
  if (!secret.includes("&")) return secret;
  let text = secret;
  for (const [pattern, replacement] of paddedEntities) text = text.replace(pattern, replacement);
  return text.replace(entityPattern, (entity) => entities[entity] ?? entity);
}

/**
 * The key a delivery is deduplicated by: X-WC-Webhook-Delivery-ID and a digest of the body.
 * WooCommerce makes the delivery id from the webhook id and the current second
 * (`wp_hash($id . strtotime('now'))`), so two deliveries of one webhook in the same second (two
 * orders placed at once, a status change and a refund saved together) share it; the digest keeps
 * them apart, while a resend of the same delivery (same id, same body) is still a duplicate.
 */
export function wooDeliveryKey(deliveryId: string, raw: Buffer): string {
  return `${deliveryId}:${createHash("sha256").update(raw).digest("hex")}`;
}

export const wooTopics = ["order.created", "order.updated", "customer.created", "customer.updated"] as const;

/** Order statuses in which WooCommerce has the money (`completed` follows `processing`). */
const paidStatuses = new Set(["processing", "completed"]);

/**
 * What a delivery of `topic` asks Laurel to do. WooCommerce sends the whole order on every change
 * and has no refund topic, so one `order.created` / `order.updated` may ask for several events:
 *
 * - status `processing` or `completed`: the order is paid (`order.paid`, `order:<id>:paid`, at
 *   `date_paid_gmt`);
 * - every refund the order lists: `order.refunded` (`refund:<refund id>`);
 * - status `cancelled`: `order.cancelled` (`order:<id>:cancelled`).
 *
 * Each event is deduplicated by its id, so the order resent after every change (completed, a
 * second refund) records only what is new. An order in any other status with no refund is ignored.
 * `customer.created` / `customer.updated` sync the member with this WooCommerce customer id; other
 * topics are ignored (the body is not even parsed). Throws a 400 AppError for a body that is not
 * valid JSON or not the topic's resource.
 */
export function wooDeliveryPlan(topic: string, raw: Buffer): DeliveryPlan {
  const none: DeliveryPlan = { actions: [], customer: null, ignored: null };
  switch (topic) {
    case "order.created":
    case "order.updated": {
      const json = parse(raw);
      const order = wooOrderFromPayload(json);
      const refunds = wooRefundsFromOrderPayload(json);
      const actions: DeliveryAction[] = [];
      const status = order.financialStatus ?? "";
      if (paidStatuses.has(status)) {
        actions.push({ kind: "order.paid", order, occurredAt: order.paidAt ?? order.createdAt });
      }
      for (const refund of refunds) actions.push({ kind: "order.refunded", refund });
      if (status === "cancelled" && order.cancelledAt !== null) {
        actions.push({ kind: "order.cancelled", order, occurredAt: order.cancelledAt });
      }
      if (actions.length === 0) {
        return {
          ...none,
          ignored: `order ${order.externalId} is ${JSON.stringify(status)}: it earns when it is processing or completed`,
        };
      }
      return { ...none, actions };
    }
    case "customer.created":
    case "customer.updated":
      return { ...none, customer: wooCustomerFromPayload(parse(raw)) };
    default:
      return {
        ...none,
        ignored: `Laurel does not act on the WooCommerce topic ${topic}; it handles ${wooTopics.join(", ")}`,
      };
  }
}
