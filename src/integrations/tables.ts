import type { Platform } from "./orders.js";

/** A store platform connected to a shop. */
export interface ShopIntegrationsTable {
  shop_id: string;
  platform: Platform;
  /** Names the shop on incoming webhooks: the Shopify shop domain, the WooCommerce site URL. */
  account: string;
  /** Verifies incoming webhooks (Shopify app secret, WooCommerce webhook secret). Never returned. */
  webhook_secret: string;
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
