import type { Platform } from "./orders.js";

/** A store platform connected to a shop. */
export interface ShopIntegrationsTable {
  shop_id: string;
  platform: Platform;
  /** Names the shop on incoming webhooks: the Shopify shop domain, the WooCommerce site URL. */
  account: string;
  /** Verifies incoming webhooks (Shopify app secret, WooCommerce webhook secret). Never returned. */
  webhook_secret: string;
  /** Shopify: the Admin API access token that creates discount codes; null when not set. Never returned. */
  admin_access_token: string | null;
  /** 1: redemptions' codes become discounts on the platform (Shopify). */
  sync_discount_codes: number;
  created_at: string;
  updated_at: string;
}

/** A webhook delivery accepted once; a redelivery with the same id gets `result` again. */
export interface WebhookDeliveriesTable {
  shop_id: string;
  platform: Platform;
  delivery_id: string;
  topic: string;
  /** JSON: what the delivery did (events, member), as answered the first time. */
  result: string;
  /** The raw body, kept for inspection (retention sweeps may drop it). */
  payload: string | null;
  received_at: string;
}

export const platformDiscountStatuses = ["pending", "created", "failed", "unsupported", "deleting", "deleted"] as const;
export type PlatformDiscountStatus = (typeof platformDiscountStatuses)[number];

/**
 * A redemption's code sent to a platform as a discount. pending: to be sent (again at
 * `next_attempt_at`); created: the platform has it; failed: gave up or refused; unsupported: the
 * reward cannot be expressed there; deleting: to be taken back (the redemption was cancelled);
 * deleted: taken back, or never sent.
 */
export interface PlatformDiscountsTable {
  shop_id: string;
  redemption_id: string;
  platform: Platform;
  status: PlatformDiscountStatus;
  price_rule_id: string | null;
  discount_code_id: string | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}
