export interface ShopsTable {
  id: string;
  name: string;
  /** ISO 4217 code; every amount the shop reports is converted to this currency. */
  base_currency: string;
  /** IANA time zone: "per day" limits, birthdays and calendar periods follow it. */
  timezone: string;
  /** BCP 47 tag used when a member has no locale of their own. */
  default_locale: string;
  /** `redemption_rate_points` points are worth `redemption_rate_amount` minor units; null = the default. */
  redemption_rate_points: number | null;
  redemption_rate_amount: number | null;
  /** auto: every customer becomes an active member; opt_in: customers are guests until they join. */
  enrollment_mode: "auto" | "opt_in";
  /** ISO 3166-1 alpha-2: the region local phone numbers are read in. */
  default_country: string | null;
  /** Signs storefront customer tokens (hex); made on first use. */
  customer_token_secret: string | null;
  /** 1: a member who owes points (debt) is shown a balance below zero; 0: shown 0. */
  allow_negative_balance: number;
  /** Points spent on an order (a reward code, points at checkout) when it is refunded: keep or return. */
  redeemed_points_on_refund: "keep" | "return";
  created_at: string;
  updated_at: string;
}
