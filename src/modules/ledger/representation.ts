import type { PointsSummary } from "./queries.js";
import type {
  ActorType,
  LedgerEntriesTable,
  LedgerLotMovementsTable,
  LedgerLotsTable,
  LedgerTransactionsTable,
  PointAccountsTable,
  PointReservationsTable,
  ReservationStatus,
  TransactionType,
} from "./tables.js";

/**
 * The ledger's domain objects and their public JSON. The JSON is what the API returns and what the
 * outbox events carry, so a webhook consumer and an API client read the same shapes.
 */

/** Who made a change: an API key, an admin user, or Laurel itself (expiry, settlement). */
export interface Actor {
  type: ActorType;
  id: string | null;
}

export interface LedgerTransaction {
  id: string;
  memberId: string;
  type: TransactionType;
  amount: number;
  reason: string | null;
  reference: string | null;
  actor: Actor;
  metadata: Record<string, unknown>;
  reversesTransactionId: string | null;
  confirmsTransactionId: string | null;
  reversedAmount: number;
  reservationId: string | null;
  createdAt: string;
}

export function toLedgerTransaction(row: LedgerTransactionsTable): LedgerTransaction {
  return {
    id: row.id,
    memberId: row.member_id,
    type: row.type,
    amount: row.amount,
    reason: row.reason,
    reference: row.reference,
    actor: { type: row.actor_type, id: row.actor_id },
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    reversesTransactionId: row.reverses_transaction_id,
    confirmsTransactionId: row.confirms_transaction_id,
    reversedAmount: row.reversed_amount,
    reservationId: row.reservation_id,
    createdAt: row.created_at,
  };
}

export function toTransactionJson(transaction: LedgerTransaction) {
  return {
    id: transaction.id,
    object: "points_transaction" as const,
    member_id: transaction.memberId,
    type: transaction.type,
    amount: transaction.amount,
    reason: transaction.reason,
    reference: transaction.reference,
    actor: { type: transaction.actor.type, id: transaction.actor.id },
    metadata: transaction.metadata,
    reverses_transaction_id: transaction.reversesTransactionId,
    confirms_transaction_id: transaction.confirmsTransactionId,
    reversed_amount: transaction.reversedAmount,
    reservation_id: transaction.reservationId,
    created_at: transaction.createdAt,
  };
}

export interface PointBalance {
  memberId: string;
  available: number;
  pending: number;
  reserved: number;
  lifetimeEarned: number;
  lifetimeSpent: number;
  lifetimeExpired: number;
  /** Points the member owes (clawed back after they were spent); later earnings repay them first. */
  debt: number;
}

export function toPointBalance(row: PointAccountsTable): PointBalance {
  return {
    memberId: row.member_id,
    available: row.available,
    pending: row.pending,
    reserved: row.reserved,
    lifetimeEarned: row.lifetime_earned,
    lifetimeSpent: row.lifetime_spent,
    lifetimeExpired: row.lifetime_expired,
    debt: row.debt,
  };
}

export function toBalanceJson(balance: PointBalance) {
  return {
    member_id: balance.memberId,
    available: balance.available,
    pending: balance.pending,
    reserved: balance.reserved,
    lifetime_earned: balance.lifetimeEarned,
    lifetime_spent: balance.lifetimeSpent,
    lifetime_expired: balance.lifetimeExpired,
    debt: balance.debt,
  };
}

/** GET …/points: the balance with what expires next, as of a moment. */
export function toPointsSummaryJson(summary: PointsSummary) {
  return {
    object: "points_summary" as const,
    ...toBalanceJson(summary),
    balance: summary.balance,
    next_expiration: summary.nextExpiration,
    expiring_within_30_days: summary.expiringWithin30Days,
    as_of: summary.asOf,
  };
}

export interface Reservation {
  id: string;
  memberId: string;
  amount: number;
  status: ReservationStatus;
  reference: string | null;
  expiresAt: string;
  reserveTransactionId: string;
  commitTransactionId: string | null;
  releaseTransactionId: string | null;
  committedAmount: number;
  createdAt: string;
  updatedAt: string;
}

export function toReservation(row: PointReservationsTable): Reservation {
  return {
    id: row.id,
    memberId: row.member_id,
    amount: row.amount,
    status: row.status,
    reference: row.reference,
    expiresAt: row.expires_at,
    reserveTransactionId: row.reserve_transaction_id,
    commitTransactionId: row.commit_transaction_id,
    releaseTransactionId: row.release_transaction_id,
    committedAmount: row.committed_amount,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toReservationJson(reservation: Reservation) {
  return {
    id: reservation.id,
    object: "points_reservation" as const,
    member_id: reservation.memberId,
    amount: reservation.amount,
    status: reservation.status,
    reference: reservation.reference,
    expires_at: reservation.expiresAt,
    reserve_transaction_id: reservation.reserveTransactionId,
    commit_transaction_id: reservation.commitTransactionId,
    release_transaction_id: reservation.releaseTransactionId,
    committed_amount: reservation.committedAmount,
    created_at: reservation.createdAt,
    updated_at: reservation.updatedAt,
  };
}

export interface Lot {
  id: string;
  memberId: string;
  transactionId: string;
  state: LedgerLotsTable["state"];
  amount: number;
  remaining: number;
  pendingUntil: string | null;
  expiresAt: string | null;
  createdAt: string;
}

export function toLot(row: LedgerLotsTable): Lot {
  return {
    id: row.id,
    memberId: row.member_id,
    transactionId: row.transaction_id,
    state: row.state,
    amount: row.amount,
    remaining: row.remaining,
    pendingUntil: row.pending_until,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
  };
}

export function toLotJson(lot: Lot) {
  return {
    id: lot.id,
    object: "points_lot" as const,
    member_id: lot.memberId,
    transaction_id: lot.transactionId,
    state: lot.state,
    amount: lot.amount,
    remaining: lot.remaining,
    pending_until: lot.pendingUntil,
    expires_at: lot.expiresAt,
    created_at: lot.createdAt,
  };
}

export function toEntryJson(entry: LedgerEntriesTable) {
  return {
    line: entry.line,
    account: entry.account,
    member_id: entry.member_id,
    amount: entry.amount,
  };
}

export function toMovementJson(movement: LedgerLotMovementsTable) {
  return { lot_id: movement.lot_id, amount: movement.amount };
}
