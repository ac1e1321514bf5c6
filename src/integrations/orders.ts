/**
 * Platform-neutral shapes of what store platforms send: the Shopify and WooCommerce adapters map
 * their webhook bodies into these, and event ingestion reads only these. Money is integer minor
 * units of the currency next to it; ids are the platform's ids as decimal strings (Shopify ids go
 * beyond 2^53); timestamps are ISO 8601 UTC.
 */

export type Platform = "shopify" | "woocommerce";

export interface PlatformCustomer {
  /** The platform's customer id; null for a guest checkout. */
  platformId: string | null;
  /** As the platform sent it, trimmed (the members module normalizes identifiers). */
  email: string | null;
  /** As the platform sent it, trimmed: E.164 from Shopify, free text from WooCommerce. */
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  /** Email marketing consent as the platform reports it; null when the platform says nothing. */
  acceptsMarketing: boolean | null;
  createdAt: string | null;
}

export interface PlatformLineItem {
  productId: string | null;
  variantId: string | null;
  sku: string | null;
  title: string;
  quantity: number;
  /** Unit price before order discounts, minor units of the order currency. */
  price: number;
}

export interface PlatformOrder {
  platform: Platform;
  externalId: string;
  /** The number the shopper sees ("#1001" on Shopify, "727" on WooCommerce). */
  orderNumber: string | null;
  customer: PlatformCustomer | null;
  /** The currency the customer paid in (Shopify's presentment currency). */
  currency: string;
  /** What the customer paid, tax and shipping included, before any refund. */
  total: number;
  /** Line items after discounts, before tax and shipping. */
  subtotal: number;
  /** The same amounts in the shop's own currency, when the platform sends them (Shopify). */
  shopMoney: { currency: string; total: number; subtotal: number } | null;
  lineItems: PlatformLineItem[];
  discountCodes: string[];
  /** The cart the order was checked out from (Shopify's cart_token): points held for it are spent. */
  cartId?: string | null;
  /** The platform's own word: Shopify's financial_status, WooCommerce's order status. */
  financialStatus: string | null;
  createdAt: string;
  /** When the order was paid; absent when the platform does not say (Shopify), null when unpaid. */
  paidAt?: string | null;
  cancelledAt: string | null;
  /** The channel: Shopify's source_name (web, pos, an app id), WooCommerce's created_via. */
  sourceName: string | null;
  /** ISO 3166-1 alpha-2, from the billing address, else the shipping address. */
  country: string | null;
  tags: string[];
}

export interface PlatformRefund {
  platform: Platform;
  refundId: string;
  orderExternalId: string;
  createdAt: string;
  currency: string;
  /** Money returned to the customer, minor units of `currency`, 0 or more. */
  amount: number;
  shopMoney: { currency: string; amount: number } | null;
}
