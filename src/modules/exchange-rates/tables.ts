/** One unit of `currency` is worth `rate` units of the shop currency (a decimal string, e.g. "0.0067"). */
export interface ExchangeRatesTable {
  shop_id: string;
  currency: string;
  rate: string;
  created_at: string;
  updated_at: string;
}
