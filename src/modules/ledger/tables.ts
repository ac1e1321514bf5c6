/** What a ledger transaction did. Each type has one fixed pattern of entries (see docs/ledger.md). */
export const transactionTypes = [
  "earn",
  "import",
  "adjust",
  "redeem",
  "reserve",
  "release",
  "confirm",
  "expire",
  "reverse",
  "transfer",
] as const;
export type TransactionType = (typeof transactionTypes)[number];

/**
 * A member's sub-accounts. Points move between them; only `available` can be spent. `debt` holds
 * what the member owes (its balance is zero or below): points clawed back after they were spent.
 */
export const memberAccounts = ["available", "pending", "reserved", "debt"] as const;
export type MemberAccount = (typeof memberAccounts)[number];

/** The shop's system accounts: where points come from and where they go. */
export const systemAccounts = ["issued", "redeemed", "expired", "adjustments", "reversals"] as const;
export type SystemAccount = (typeof systemAccounts)[number];

export type Account = MemberAccount | SystemAccount;

export type ActorType = "api_key" | "admin" | "system";

export interface PointAccountsTable {
  shop_id: string;
  member_id: string;
  available: number;
  pending: number;
  reserved: number;
  lifetime_earned: number;
  lifetime_spent: number;
  lifetime_expired: number;
  /** Points owed: clawed back after they were spent; later earnings repay it first. */
  debt: number;
  next_due_at: string | null;
  /** PostgreSQL: bumped by every change (the write that takes the row lock). SQLite: not used. */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface LedgerTransactionsTable {
  shop_id: string;
  id: string;
  /** The member whose account the transaction is about (for a transfer: the source). */
  member_id: string;
  type: TransactionType;
  /** Points moved, always positive; the entries say from where to where. */
  amount: number;
  reason: string | null;
  /** The outside thing this transaction belongs to: an order, event or redemption id. */
  reference: string | null;
  actor_type: ActorType;
  actor_id: string | null;
  /** JSON object. */
  metadata: string;
  /** Unique per shop: a second transaction with the same key is a replay of the first. */
  idempotency_key: string | null;
  reverses_transaction_id: string | null;
  /** For a confirm: the credit whose pending points it made available. */
  confirms_transaction_id: string | null;
  /** How much of this transaction later reversals have undone. */
  reversed_amount: number;
  reservation_id: string | null;
  created_at: string;
}

export interface LedgerEntriesTable {
  shop_id: string;
  transaction_id: string;
  line: number;
  account: Account;
  /** Set for member accounts, null for system accounts. */
  member_id: string | null;
  /** Signed: positive credits the account, negative debits it. A transaction's entries sum to zero. */
  amount: number;
}

export type LotState = "pending" | "available";

export interface LedgerLotsTable {
  shop_id: string;
  id: string;
  member_id: string;
  /** The transaction that credited the lot. */
  transaction_id: string;
  state: LotState;
  amount: number;
  remaining: number;
  /** For pending lots: when they confirm on their own; null waits for an explicit confirmation. */
  pending_until: string | null;
  /** Null: never expires. */
  expires_at: string | null;
  created_at: string;
}

export interface LedgerLotMovementsTable {
  shop_id: string;
  transaction_id: string;
  lot_id: string;
  seq: number;
  /** Signed change to the lot's remaining amount. */
  amount: number;
}

export type ReservationStatus = "active" | "committed" | "released" | "expired";

export interface PointReservationsTable {
  shop_id: string;
  id: string;
  member_id: string;
  amount: number;
  status: ReservationStatus;
  reference: string | null;
  expires_at: string;
  reserve_transaction_id: string;
  commit_transaction_id: string | null;
  release_transaction_id: string | null;
  committed_amount: number;
  created_at: string;
  updated_at: string;
}
