/** Where an event came from: the API, a store platform's webhooks, or a backfill import. */
export type EventSource = string;

/** processed: the rules ran (possibly for 0 points); skipped: nothing could be awarded, `reason` says why. */
export type EventStatus = "processed" | "skipped";

export interface EventsTable {
  shop_id: string;
  id: string;
  /** "api" (default), "shopify", "woocommerce", "import", or an integrator's own source name. */
  source: EventSource;
  /** The sender's id for the event; unique per (shop, source). Null: not deduplicated. */
  external_id: string | null;
  type: string;
  member_id: string | null;
  /** For order events: the order's external id (within the same source). */
  order_id: string | null;
  status: EventStatus;
  reason: string | null;
  /** Net points the event moved: awarded (positive) or clawed back (negative). */
  points: number;
  occurred_at: string;
  received_at: string;
  /** JSON: the event as received (normalized body). */
  payload: string;
  /** JSON: the explanation (rules, contributions, limit cuts, ledger transactions). */
  explanation: string;
}

export type OrderStatus = "paid" | "cancelled";

export interface OrdersTable {
  shop_id: string;
  source: EventSource;
  external_id: string;
  member_id: string | null;
  status: OrderStatus;
  /** What the shopper paid in, and the amounts in it (minor units). */
  currency: string;
  total: number;
  subtotal: number;
  /** The total in the shop currency (platform amount or converted); null when no rate was known. */
  shop_total: number | null;
  /** Refunded so far, minor units of `currency`. */
  refunded: number;
  points_earned: number;
  points_reversed: number;
  paid_event_id: string;
  paid_at: string;
  cancelled_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface EventAwardsTable {
  shop_id: string;
  event_id: string;
  rule_id: string;
  rule_version: number;
  member_id: string;
  points: number;
  /** The ledger credit the points went into; null when the award was 0. */
  transaction_id: string | null;
  occurred_at: string;
}

export interface CustomEventTypesTable {
  shop_id: string;
  /** Lower-case dotted name, e.g. "workshop.attended"; never one of the built-in types. */
  type: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface ImportRunsTable {
  shop_id: string;
  id: string;
  kind: "orders";
  file_name: string;
  file_sha256: string;
  status: "running" | "finished";
  /** Records of the file handled so far (in file order): a rerun starts after them. */
  records_done: number;
  events_created: number;
  duplicates: number;
  failed: number;
  /** JSON array of the first errors: [{record, pointer, message}]. */
  errors: string;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}
