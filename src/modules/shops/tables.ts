export interface ShopsTable {
  id: string;
  name: string;
  /** ISO 4217 code; every amount the shop reports is converted to this currency. */
  base_currency: string;
  /** IANA time zone: "per day" limits, birthdays and calendar periods follow it. */
  timezone: string;
  /** BCP 47 tag used when a member has no locale of their own. */
  default_locale: string;
  created_at: string;
  updated_at: string;
}
