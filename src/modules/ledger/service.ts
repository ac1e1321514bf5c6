import { earliest } from "../../platform/clock.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError, invalidField } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import {
  drawFromLots,
  lockAccountOrThrow,
  Posting,
  post,
  restoreLots,
  systemActor,
  type TransactionDetails,
} from "./posting.js";
import * as repository from "./repository.js";
import {
  type LedgerTransaction,
  type PointBalance,
  type Reservation,
  toLedgerTransaction,
  toLot,
  toLotJson,
  toPointBalance,
  toReservation,
  toReservationJson,
} from "./representation.js";
import type { LedgerLotsTable, LedgerTransactionsTable, PointAccountsTable, PointReservationsTable } from "./tables.js";

/** The largest amount one transaction may move: far above any real use, far below 2^53. */
export const maxPointsPerTransaction = 1_000_000_000_000;

/** The result of a command: its transaction, the member's balances after it, and whether it was a replay. */
export interface LedgerResult {
  /** For a reversal: the points the member had already spent, recorded as owed (debt). */
  debtRecorded?: number;
  transaction: LedgerTransaction;
  balance: PointBalance;
  /** True when an earlier transaction with the same idempotency key was returned instead. */
  replayed: boolean;
}

export interface ReservationResult extends LedgerResult {
  reservation: Reservation;
}

/** Opens a member's points account; the members module calls this when it creates a member. */
export async function openPointsAccount(trx: Tx, shopId: string, memberId: string, now: Date): Promise<void> {
  const timestamp = now.toISOString();
  await repository.insertAccount(trx, {
    shop_id: shopId,
    member_id: memberId,
    available: 0,
    pending: 0,
    reserved: 0,
    lifetime_earned: 0,
    lifetime_spent: 0,
    lifetime_expired: 0,
    debt: 0,
    next_due_at: null,
    version: 0,
    created_at: timestamp,
    updated_at: timestamp,
  });
}

function checkAmount(amount: number, pointer = "/body/amount"): void {
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > maxPointsPerTransaction) {
    throw invalidField(pointer, `must be a whole number of points from 1 to ${maxPointsPerTransaction}`);
  }
}

function checkFuture(value: string | null | undefined, pointer: string, now: Date): void {
  if (value !== null && value !== undefined && !(new Date(value).getTime() > now.getTime())) {
    throw invalidField(pointer, "must be in the future");
  }
}

/** ISO-8601 in UTC with milliseconds, the one form timestamps are stored in (so they compare as text). */
export function normalizeTimestamp(value: string | null | undefined, pointer: string): string | null {
  if (value === null || value === undefined) return null;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw invalidField(pointer, "must be an ISO 8601 date-time");
  return time.toISOString();
}

/**
 * A transaction stored earlier under the same idempotency key, if any. The key must have been used
 * for the same kind of change to the same member, or the caller is reusing a key by mistake.
 */
async function replayOf(
  trx: Tx,
  shopId: string,
  details: TransactionDetails,
  expected: { memberId: string; types: LedgerTransactionsTable["type"][]; amount?: number | undefined },
): Promise<LedgerTransactionsTable | undefined> {
  if (!details.idempotencyKey) return undefined;
  const existing = await repository.findTransactionByIdempotencyKey(trx, shopId, details.idempotencyKey);
  if (!existing) return undefined;
  const same =
    existing.member_id === expected.memberId &&
    expected.types.includes(existing.type) &&
    (expected.amount === undefined || existing.amount === expected.amount);
  if (!same) {
    throw new AppError(
      "idempotency_key_reused",
      `Idempotency key already used for ${existing.type} transaction ${existing.id}; use a new key for a new change`,
    );
  }
  return existing;
}

/**
 * Runs a command on one member's points under that member's account lock: settles what fell due
 * first (so nothing spends an expired lot), then runs `work`, settles again if the command gave
 * points back to a lot that has meanwhile expired, and saves the account once.
 */
async function onLockedAccount<T extends { balance: PointBalance }>(
  trx: Tx,
  shopId: string,
  memberId: string,
  now: Date,
  work: (account: PointAccountsTable) => Promise<T>,
): Promise<T> {
  const account = await lockAccountOrThrow(trx, shopId, memberId);
  await settleLocked(trx, account, now);
  const result = await work(account);
  await settleLocked(trx, account, now);
  // That second settlement may have expired points the command gave back to a lot already past
  // its expiry; a command must return the balance it leaves stored, not the one before that.
  result.balance = toPointBalance(account);
  account.updated_at = now.toISOString();
  await repository.saveAccount(trx, account);
  return result;
}

function result(row: LedgerTransactionsTable, account: PointAccountsTable, replayed = false): LedgerResult {
  return { transaction: toLedgerTransaction(row), balance: toPointBalance(account), replayed };
}

export interface CreditInput extends TransactionDetails {
  shopId: string;
  memberId: string;
  type: "earn" | "import" | "adjust";
  amount: number;
  /** When the points expire; null or absent: never. */
  expiresAt?: string | null | undefined;
  /** Hold the points as pending (visible, not spendable) until confirmed. */
  pending?: boolean | undefined;
  /** With `pending`: confirm on their own at this moment; absent waits for an explicit confirmation. */
  pendingUntil?: string | null | undefined;
}

/** Credits points to a member as a new lot: issued by the shop (earn, import) or an adjustment. */
export async function creditPoints(trx: Tx, input: CreditInput, now: Date): Promise<LedgerResult> {
  checkAmount(input.amount);
  const expiresAt = normalizeTimestamp(input.expiresAt, "/body/expires_at");
  const pendingUntil = normalizeTimestamp(input.pendingUntil, "/body/pending_until");
  if (pendingUntil !== null && !input.pending) throw invalidField("/body/pending_until", "needs pending: true");
  if (pendingUntil !== null && expiresAt !== null && pendingUntil >= expiresAt) {
    throw invalidField("/body/pending_until", "must be before expires_at");
  }
  return onLockedAccount(trx, input.shopId, input.memberId, now, async (account) => {
    const replay = await replayOf(trx, input.shopId, input, {
      memberId: input.memberId,
      types: [input.type],
      amount: input.amount,
    });
    if (replay) return result(replay, account, true);
    // Checked after the replay lookup: a retry after the date has passed still finds its first answer.
    checkFuture(expiresAt, "/body/expires_at", now);
    checkFuture(pendingUntil, "/body/pending_until", now);

    const posting = new Posting(input.shopId, input.memberId, input.type, input.amount, input, now);
    const target = input.pending ? "pending" : "available";
    posting.entry(input.type === "adjust" ? "adjustments" : "issued", null, -input.amount);
    // Spendable points repay what the member owes before they reach the balance; pending points
    // wait until they are confirmed (they may still be cancelled).
    const repaid = input.pending ? 0 : Math.min(account.debt, input.amount);
    posting.entry("debt", input.memberId, repaid);
    const credited = input.amount - repaid;
    posting.entry(target, input.memberId, credited);
    if (repaid > 0) posting.eventData.debt_repaid = repaid;
    if (credited > 0) {
      const lot: LedgerLotsTable = {
        shop_id: input.shopId,
        id: newId("lot", now),
        member_id: input.memberId,
        transaction_id: posting.row.id,
        state: target,
        amount: credited,
        remaining: credited,
        pending_until: pendingUntil,
        expires_at: expiresAt,
        created_at: now.toISOString(),
      };
      await repository.insertLot(trx, lot);
      posting.movement(lot.id, credited);
      posting.eventData.lot = toLotJson(toLot(lot));
    }
    if (!input.pending) account.lifetime_earned += input.amount;
    account.next_due_at = earliest([account.next_due_at, input.pending ? pendingUntil : expiresAt]);
    await post(trx, posting, [account]);
    return result(posting.row, account);
  });
}

export interface DebitInput extends TransactionDetails {
  shopId: string;
  memberId: string;
  /** redeem: the member spent the points; adjust: the shop took them back. */
  type: "redeem" | "adjust";
  amount: number;
}

function insufficient(account: PointAccountsTable, amount: number): AppError {
  return new AppError(
    "insufficient_points",
    `The member has ${account.available} available points; ${amount} are needed`,
    { errors: [{ pointer: "/body/amount", message: `exceeds the ${account.available} available points` }] },
  );
}

/** Takes points from a member's available balance, soonest-expiring lots first. */
export async function debitPoints(trx: Tx, input: DebitInput, now: Date): Promise<LedgerResult> {
  checkAmount(input.amount);
  return onLockedAccount(trx, input.shopId, input.memberId, now, async (account) => {
    const replay = await replayOf(trx, input.shopId, input, {
      memberId: input.memberId,
      types: [input.type],
      amount: input.amount,
    });
    if (replay) return result(replay, account, true);
    if (account.available < input.amount) throw insufficient(account, input.amount);

    const posting = new Posting(input.shopId, input.memberId, input.type, input.amount, input, now);
    posting.entry("available", input.memberId, -input.amount);
    posting.entry(input.type === "redeem" ? "redeemed" : "adjustments", null, input.amount);
    await drawFromLots(trx, posting, input.memberId, input.amount);
    if (input.type === "redeem") account.lifetime_spent += input.amount;
    await post(trx, posting, [account]);
    return result(posting.row, account);
  });
}

/** The longest a reservation may be held: a checkout, not a savings account. */
export const maxReservationSeconds = 7 * 24 * 60 * 60;

export interface ReserveInput extends TransactionDetails {
  shopId: string;
  memberId: string;
  amount: number;
  /** When the reservation releases by itself if neither committed nor released. */
  expiresAt: string;
}

/** Sets points aside for a checkout: they leave the available balance until committed or released. */
export async function reservePoints(trx: Tx, input: ReserveInput, now: Date): Promise<ReservationResult> {
  checkAmount(input.amount);
  const expiresAt = normalizeTimestamp(input.expiresAt, "/body/expires_at") as string;
  return onLockedAccount(trx, input.shopId, input.memberId, now, async (account) => {
    const replay = await replayOf(trx, input.shopId, input, {
      memberId: input.memberId,
      types: ["reserve"],
      amount: input.amount,
    });
    if (replay) {
      const reservation = await getReservationRow(trx, input.shopId, replay.reservation_id ?? "");
      return { ...result(replay, account, true), reservation: toReservation(reservation) };
    }
    checkFuture(expiresAt, "/body/expires_at", now);
    if (new Date(expiresAt).getTime() - now.getTime() > maxReservationSeconds * 1000) {
      throw invalidField("/body/expires_at", "must be at most 7 days away");
    }
    if (account.available < input.amount) throw insufficient(account, input.amount);

    const reservationId = newId("reservation", now);
    const posting = new Posting(input.shopId, input.memberId, "reserve", input.amount, input, now, {
      reservationId,
    });
    posting.entry("available", input.memberId, -input.amount);
    posting.entry("reserved", input.memberId, input.amount);
    await drawFromLots(trx, posting, input.memberId, input.amount);
    const row: PointReservationsTable = {
      shop_id: input.shopId,
      id: reservationId,
      member_id: input.memberId,
      amount: input.amount,
      status: "active",
      reference: input.reference ?? null,
      expires_at: expiresAt,
      reserve_transaction_id: posting.row.id,
      commit_transaction_id: null,
      release_transaction_id: null,
      committed_amount: 0,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    await repository.insertReservation(trx, row);
    posting.eventData.reservation = toReservationJson(toReservation(row));
    account.next_due_at = earliest([account.next_due_at, expiresAt]);
    await post(trx, posting, [account]);
    return { ...result(posting.row, account), reservation: toReservation(row) };
  });
}

/** A reservation read in the caller's transaction; one whose hold has run out is settled first. */
export async function readReservation(trx: Tx, shopId: string, reservationId: string, now: Date): Promise<Reservation> {
  let row = await getReservationRow(trx, shopId, reservationId);
  if (row.status === "active" && row.expires_at <= now.toISOString()) {
    await settleAccount(trx, shopId, row.member_id, now);
    row = await getReservationRow(trx, shopId, reservationId);
  }
  return toReservation(row);
}

async function getReservationRow(trx: Tx, shopId: string, reservationId: string): Promise<PointReservationsTable> {
  const row = await repository.findReservation(trx, shopId, reservationId);
  if (!row) throw new AppError("reservation_not_found", `No reservation ${reservationId} in this shop`);
  return row;
}

/**
 * Commits and releases find their replays through the reservation, not the key. A key that an
 * earlier transaction of another kind or reservation carries must still be refused as reused: left
 * alone, the insert would hit the unique index and fail as a database error.
 */
async function refuseKeyOfAnotherChange(
  trx: Tx,
  details: TransactionDetails,
  row: PointReservationsTable,
  type: "redeem" | "release",
): Promise<void> {
  if (!details.idempotencyKey) return;
  const existing = await repository.findTransactionByIdempotencyKey(trx, row.shop_id, details.idempotencyKey);
  if (existing && (existing.type !== type || existing.reservation_id !== row.id)) {
    throw new AppError(
      "idempotency_key_reused",
      `Idempotency key already used for ${existing.type} transaction ${existing.id}; use a new key for a new change`,
    );
  }
}

function notActive(row: PointReservationsTable): AppError {
  const when = row.status === "expired" ? ` at ${row.expires_at}` : "";
  return new AppError("reservation_not_active", `Reservation ${row.id} is ${row.status}${when}`);
}

export interface CommitInput extends TransactionDetails {
  shopId: string;
  reservationId: string;
  /** Spend only this much of the reservation and release the rest; absent: all of it. */
  amount?: number | undefined;
}

/**
 * Spends reserved points. Committing less than was reserved releases the difference to the lots it
 * came from. Committing a committed reservation again with the same amount returns it unchanged.
 */
export async function commitReservation(trx: Tx, input: CommitInput, now: Date): Promise<ReservationResult> {
  if (input.amount !== undefined) checkAmount(input.amount);
  const found = await getReservationRow(trx, input.shopId, input.reservationId);
  return onLockedAccount(trx, input.shopId, found.member_id, now, async (account) => {
    // Read again under the lock: a concurrent commit, release or expiry may have settled it.
    const row = await getReservationRow(trx, input.shopId, input.reservationId);
    await refuseKeyOfAnotherChange(trx, input, row, "redeem");
    if (row.status === "committed" && row.commit_transaction_id) {
      if (input.amount !== undefined && input.amount !== row.committed_amount) throw notActive(row);
      const committed = await repository.findTransaction(trx, input.shopId, row.commit_transaction_id);
      if (committed) return { ...result(committed, account, true), reservation: toReservation(row) };
    }
    if (row.status !== "active") throw notActive(row);
    const spend = input.amount ?? row.amount;
    if (spend > row.amount) throw invalidField("/body/amount", `must not exceed the ${row.amount} points reserved`);

    const posting = new Posting(input.shopId, row.member_id, "redeem", spend, input, now, { reservationId: row.id });
    posting.entry("reserved", row.member_id, -row.amount);
    posting.entry("redeemed", null, spend);
    posting.entry("available", row.member_id, row.amount - spend);
    const restored = await restoreLots(trx, posting, [row.reserve_transaction_id], row.amount - spend);
    account.next_due_at = earliest([account.next_due_at, ...restored.map((lot) => lot.expires_at)]);
    account.lifetime_spent += spend;
    const updated: PointReservationsTable = {
      ...row,
      status: "committed",
      committed_amount: spend,
      commit_transaction_id: posting.row.id,
      updated_at: now.toISOString(),
    };
    await repository.updateReservation(trx, updated);
    posting.eventData.reservation = toReservationJson(toReservation(updated));
    await post(trx, posting, [account]);
    return { ...result(posting.row, account), reservation: toReservation(updated) };
  });
}

export interface ReleaseInput extends TransactionDetails {
  shopId: string;
  reservationId: string;
}

/** Returns reserved points to the member's available balance. Releasing twice changes nothing. */
export async function releaseReservation(trx: Tx, input: ReleaseInput, now: Date): Promise<ReservationResult> {
  const found = await getReservationRow(trx, input.shopId, input.reservationId);
  return onLockedAccount(trx, input.shopId, found.member_id, now, async (account) => {
    const row = await getReservationRow(trx, input.shopId, input.reservationId);
    await refuseKeyOfAnotherChange(trx, input, row, "release");
    if ((row.status === "released" || row.status === "expired") && row.release_transaction_id) {
      const released = await repository.findTransaction(trx, input.shopId, row.release_transaction_id);
      if (released) return { ...result(released, account, true), reservation: toReservation(row) };
    }
    if (row.status !== "active") throw notActive(row);
    const { transaction, reservation } = await releaseLocked(trx, account, row, "released", input, now);
    return { ...result(transaction, account), reservation };
  });
}

async function releaseLocked(
  trx: Tx,
  account: PointAccountsTable,
  row: PointReservationsTable,
  status: "released" | "expired",
  details: TransactionDetails,
  now: Date,
): Promise<{ transaction: LedgerTransactionsTable; reservation: Reservation }> {
  const posting = new Posting(row.shop_id, row.member_id, "release", row.amount, details, now, {
    reservationId: row.id,
  });
  posting.entry("reserved", row.member_id, -row.amount);
  posting.entry("available", row.member_id, row.amount);
  const restored = await restoreLots(trx, posting, [row.reserve_transaction_id], row.amount);
  account.next_due_at = earliest([account.next_due_at, ...restored.map((lot) => lot.expires_at)]);
  const updated: PointReservationsTable = {
    ...row,
    status,
    release_transaction_id: posting.row.id,
    updated_at: now.toISOString(),
  };
  await repository.updateReservation(trx, updated);
  posting.eventData.reservation = toReservationJson(toReservation(updated));
  await post(trx, posting, [account]);
  return { transaction: posting.row, reservation: toReservation(updated) };
}

export interface TransactionCommandInput extends TransactionDetails {
  shopId: string;
  transactionId: string;
}

async function getTransactionRow(trx: Tx, shopId: string, transactionId: string): Promise<LedgerTransactionsTable> {
  const row = await repository.findTransaction(trx, shopId, transactionId);
  if (!row) throw new AppError("transaction_not_found", `No points transaction ${transactionId} in this shop`);
  return row;
}

/**
 * Makes the pending points of a credit (or of a transfer that moved pending points) spendable now,
 * ahead of their pending date if they have one.
 */
export async function confirmPending(trx: Tx, input: TransactionCommandInput, now: Date): Promise<LedgerResult> {
  const original = await getTransactionRow(trx, input.shopId, input.transactionId);
  // The points belong to whoever holds the lots: for a transfer that is the receiving member.
  const [someLot] = await repository.listPendingLotsOfTransaction(trx, input.shopId, original.id);
  const memberId = someLot?.member_id ?? original.member_id;
  return onLockedAccount(trx, input.shopId, memberId, now, async (account) => {
    const replay = await replayOf(trx, input.shopId, input, { memberId, types: ["confirm"] });
    if (replay) {
      if (replay.confirms_transaction_id !== original.id) {
        throw new AppError("idempotency_key_reused", "Idempotency key already used to confirm another transaction");
      }
      return result(replay, account, true);
    }
    const lots = await repository.listPendingLotsOfTransaction(trx, input.shopId, original.id);
    if (lots.length === 0) {
      const lot = await repository.findLotOfTransaction(trx, input.shopId, original.id);
      throw new AppError(
        "not_pending",
        lot?.state === "available"
          ? `The points of ${original.id} are already confirmed`
          : `Transaction ${original.id} holds no pending points`,
      );
    }
    const transaction = await confirmLotsLocked(trx, account, lots, original, input, now);
    return result(transaction, account);
  });
}

/** Confirms pending lots that one transaction credited, as one `confirm` transaction. */
async function confirmLotsLocked(
  trx: Tx,
  account: PointAccountsTable,
  lots: LedgerLotsTable[],
  original: Pick<LedgerTransactionsTable, "id" | "reference">,
  details: TransactionDetails,
  now: Date,
): Promise<LedgerTransactionsTable> {
  const total = lots.reduce((sum, lot) => sum + lot.remaining, 0);
  const posting = new Posting(
    account.shop_id,
    account.member_id,
    "confirm",
    total,
    { ...details, reference: details.reference ?? original.reference },
    now,
    { confirmsTransactionId: original.id },
  );
  // Confirmed points repay what the member owes first; the lots give up what went to the debt.
  const repaid = Math.min(account.debt, total);
  posting.entry("pending", account.member_id, -total);
  posting.entry("debt", account.member_id, repaid);
  posting.entry("available", account.member_id, total - repaid);
  let toRepay = repaid;
  const confirmed: LedgerLotsTable[] = [];
  for (const lot of lots) {
    const take = Math.min(lot.remaining, toRepay);
    if (take > 0) {
      await repository.changeLotRemaining(trx, lot.shop_id, lot.id, -take);
      posting.movement(lot.id, -take);
      toRepay -= take;
    }
    await repository.markLotAvailable(trx, lot.shop_id, lot.id);
    confirmed.push({ ...lot, remaining: lot.remaining - take, state: "available", pending_until: null });
  }
  if (repaid > 0) posting.eventData.debt_repaid = repaid;
  posting.eventData.lots = confirmed.map((lot) => toLotJson(toLot(lot)));
  account.lifetime_earned += total;
  account.next_due_at = earliest([account.next_due_at, ...lots.map((lot) => lot.expires_at)]);
  await post(trx, posting, [account]);
  return posting.row;
}

export interface ReverseInput extends TransactionCommandInput {
  /** Reverse only this much (a partial refund); absent: whatever is not reversed yet. */
  amount?: number | undefined;
  /**
   * Reversing a credit whose points were already spent: "refuse" (default) answers 422
   * insufficient_points; "debt" takes what is available and records the rest as owed.
   */
  shortfall?: "refuse" | "debt" | undefined;
}

/**
 * Undoes a credit or a debit with a new transaction; the original stays as it was. Reversing a
 * credit takes the points back (from the credited lot first, then soonest-expiring lots) and needs
 * them available; reversing a pending credit cancels it. Reversing a spend gives the points back
 * to the lots they came from, with their original expiry.
 */
export async function reverseTransaction(trx: Tx, input: ReverseInput, now: Date): Promise<LedgerResult> {
  if (input.amount !== undefined) checkAmount(input.amount);
  const found = await getTransactionRow(trx, input.shopId, input.transactionId);
  return onLockedAccount(trx, input.shopId, found.member_id, now, async (account) => {
    // The amount takes part in the comparison: the same key with another amount is another request.
    const replay = await replayOf(trx, input.shopId, input, {
      memberId: found.member_id,
      types: ["reverse"],
      amount: input.amount,
    });
    if (replay) {
      if (replay.reverses_transaction_id !== found.id) {
        throw new AppError("idempotency_key_reused", `Idempotency key already used to reverse another transaction`);
      }
      return result(replay, account, true);
    }
    // Read again under the lock: a concurrent reversal may have taken part of it.
    const original = await getTransactionRow(trx, input.shopId, input.transactionId);
    const entries = await repository.listEntries(trx, input.shopId, original.id);
    const memberEntry = entries.find((entry) => entry.member_id === original.member_id);
    const reversible = ["earn", "import", "adjust", "redeem"].includes(original.type) && memberEntry !== undefined;
    if (!reversible) {
      throw new AppError("transaction_not_reversible", `A ${original.type} transaction cannot be reversed`);
    }
    const open = original.amount - original.reversed_amount;
    if (open === 0) throw new AppError("already_reversed", `Transaction ${original.id} is already fully reversed`);
    const amount = input.amount ?? open;
    if (amount > open) throw invalidField("/body/amount", `must not exceed the ${open} points not yet reversed`);

    const posting = new Posting(input.shopId, original.member_id, "reverse", amount, input, now, {
      reversesTransactionId: original.id,
    });
    posting.eventData.reverses_transaction_id = original.id;
    const isCredit = original.type !== "redeem" && memberEntry.amount > 0;
    if (isCredit) {
      await reverseCredit(trx, account, original, posting, amount, input.shortfall ?? "refuse");
    } else {
      posting.entry("reversals", null, -amount);
      posting.entry("available", original.member_id, amount);
      const consumedBy = [original.id, ...(await repository.listReversalIds(trx, input.shopId, original.id))];
      if (original.reservation_id) {
        const reservation = await getReservationRow(trx, input.shopId, original.reservation_id);
        consumedBy.push(reservation.reserve_transaction_id);
      }
      const restored = await restoreLots(trx, posting, consumedBy, amount);
      account.next_due_at = earliest([account.next_due_at, ...restored.map((lot) => lot.expires_at)]);
      if (original.type === "redeem") account.lifetime_spent -= amount;
    }
    await repository.addReversedAmount(trx, input.shopId, original.id, amount);
    await post(trx, posting, [account]);
    const debtRecorded = (posting.eventData.debt_recorded as number | undefined) ?? 0;
    return { ...result(posting.row, account), debtRecorded };
  });
}

async function reverseCredit(
  trx: Tx,
  account: PointAccountsTable,
  original: LedgerTransactionsTable,
  posting: Posting,
  amount: number,
  shortfall: "refuse" | "debt",
): Promise<void> {
  const memberId = original.member_id;
  const lot = await repository.findLotOfTransaction(trx, original.shop_id, original.id);
  posting.entry("reversals", null, amount);
  if (lot?.state === "pending") {
    // Cancelling pending points: they were never spendable, so they come only from their own lot.
    // A transfer may have moved them to another member, leaving the lot empty; cancelling them
    // here anyway would take the lot below zero (and this member's other pending points with it).
    if (lot.remaining < amount) {
      throw new AppError(
        "insufficient_points",
        `Only ${lot.remaining} of the pending points of ${original.id} are still with the member; ${amount} are needed`,
        { errors: [{ pointer: "/body/amount", message: `exceeds the ${lot.remaining} pending points left` }] },
      );
    }
    posting.entry("pending", memberId, -amount);
    await repository.changeLotRemaining(trx, original.shop_id, lot.id, -amount);
    posting.movement(lot.id, -amount);
    return;
  }
  if (account.available < amount && shortfall === "refuse") throw insufficient(account, amount);
  const taken = Math.min(account.available, amount);
  posting.entry("available", memberId, -taken);
  posting.entry("debt", memberId, -(amount - taken));
  if (amount > taken) posting.eventData.debt_recorded = amount - taken;
  const fromOwnLot = Math.min(lot?.remaining ?? 0, taken);
  if (lot && fromOwnLot > 0) {
    await repository.changeLotRemaining(trx, original.shop_id, lot.id, -fromOwnLot);
    posting.movement(lot.id, -fromOwnLot);
  }
  if (taken > fromOwnLot) {
    await drawFromLots(trx, posting, memberId, taken - fromOwnLot, lot ? { skipLotId: lot.id } : {});
  }
  account.lifetime_earned -= amount;
}

export interface TransferInput extends TransactionDetails {
  shopId: string;
  fromMemberId: string;
  toMemberId: string;
}

/**
 * Moves a member's whole points account to another member (merging duplicates): every lot with
 * points left moves with its state, pending date and expiry, and the target adds the source's lifetime totals.
 * Refused while the source has active reservations. Returns null when there was nothing to move.
 */
export async function transferAccount(trx: Tx, input: TransferInput, now: Date): Promise<LedgerResult | null> {
  if (input.fromMemberId === input.toMemberId) throw invalidField("/body/member_id", "must be another member");
  // Lock both accounts in one global order so two opposite transfers cannot deadlock.
  const [first, second] = [input.fromMemberId, input.toMemberId].sort();
  const locked = [
    await lockAccountOrThrow(trx, input.shopId, first as string),
    await lockAccountOrThrow(trx, input.shopId, second as string),
  ];
  const from = locked.find((account) => account.member_id === input.fromMemberId) as PointAccountsTable;
  const to = locked.find((account) => account.member_id === input.toMemberId) as PointAccountsTable;
  for (const account of locked) await settleLocked(trx, account, now);

  const replay = await replayOf(trx, input.shopId, input, { memberId: input.fromMemberId, types: ["transfer"] });
  if (replay) {
    await saveAccounts(trx, locked, now);
    return result(replay, from, true);
  }
  if ((await repository.countActiveReservations(trx, input.shopId, input.fromMemberId)) > 0) {
    throw new AppError("reservations_active", "Commit or release the member's reservations before moving its points");
  }
  const lots = [
    ...(await repository.listSpendableLots(trx, input.shopId, input.fromMemberId)),
    ...(await repository.listPendingLots(trx, input.shopId, input.fromMemberId)),
  ];
  const total = lots.reduce((sum, lot) => sum + lot.remaining, 0);
  if (total === 0 && from.debt === 0) {
    await saveAccounts(trx, locked, now);
    return null;
  }
  const posting = new Posting(input.shopId, input.fromMemberId, "transfer", total + from.debt, input, now);
  // What the source owes moves too, and the target's available points repay it at once.
  const owed = from.debt;
  posting.entry("debt", input.fromMemberId, owed);
  posting.entry("debt", input.toMemberId, -owed);
  posting.eventData.to_member_id = input.toMemberId;
  for (const state of ["available", "pending"] as const) {
    const moved = lots.filter((lot) => lot.state === state).reduce((sum, lot) => sum + lot.remaining, 0);
    posting.entry(state, input.fromMemberId, -moved);
    posting.entry(state, input.toMemberId, moved);
  }
  for (const lot of lots) {
    await repository.changeLotRemaining(trx, input.shopId, lot.id, -lot.remaining);
    posting.movement(lot.id, -lot.remaining);
    const copy: LedgerLotsTable = {
      ...lot,
      id: newId("lot", now),
      member_id: input.toMemberId,
      transaction_id: posting.row.id,
      amount: lot.remaining,
      created_at: now.toISOString(),
    };
    await repository.insertLot(trx, copy);
    posting.movement(copy.id, copy.remaining);
  }
  const movedAvailable = lots.filter((lot) => lot.state === "available").reduce((sum, lot) => sum + lot.remaining, 0);
  const repaid = Math.min(to.debt + owed, to.available + movedAvailable);
  if (repaid > 0) {
    posting.entry("available", input.toMemberId, -repaid);
    posting.entry("debt", input.toMemberId, repaid);
    await drawFromLots(trx, posting, input.toMemberId, repaid);
    posting.eventData.debt_repaid = repaid;
  }
  // The target's totals take in the source's; the source keeps its own, because its history
  // stays with it and a later reversal of one of its old transactions must not drive them negative.
  to.lifetime_earned += from.lifetime_earned;
  to.lifetime_spent += from.lifetime_spent;
  to.lifetime_expired += from.lifetime_expired;
  to.next_due_at = earliest([to.next_due_at, from.next_due_at]);
  await post(trx, posting, locked);
  from.next_due_at = null;
  await saveAccounts(trx, locked, now);
  return result(posting.row, from);
}

async function saveAccounts(trx: Tx, accounts: PointAccountsTable[], now: Date): Promise<void> {
  for (const account of accounts) {
    account.updated_at = now.toISOString();
    await repository.saveAccount(trx, account);
  }
}

/**
 * Brings a locked account up to `now`: releases reservations past their expiry, confirms pending
 * points past their date, then expires lots past theirs (only what remains of each). Does nothing
 * unless the account's next due moment has come, which keeps ordinary commands to one row read.
 */
async function settleLocked(trx: Tx, account: PointAccountsTable, now: Date): Promise<void> {
  const nowIso = now.toISOString();
  if (account.next_due_at === null || account.next_due_at > nowIso) return;
  const { shop_id: shopId, member_id: memberId } = account;
  for (const reservation of await repository.listDueReservations(trx, shopId, memberId, nowIso)) {
    await releaseLocked(
      trx,
      account,
      reservation,
      "expired",
      { actor: systemActor, reason: "Reservation expired", reference: reservation.reference },
      now,
    );
  }
  const duePending = await repository.listDuePendingLots(trx, shopId, memberId, nowIso);
  for (const transactionId of new Set(duePending.map((lot) => lot.transaction_id))) {
    await confirmLotsLocked(
      trx,
      account,
      duePending.filter((lot) => lot.transaction_id === transactionId),
      { id: transactionId, reference: null },
      { actor: systemActor, reason: "Pending period ended" },
      now,
    );
  }
  const expiring = await repository.listDueExpiringLots(trx, shopId, memberId, nowIso);
  if (expiring.length > 0) {
    const total = expiring.reduce((sum, lot) => sum + lot.remaining, 0);
    const posting = new Posting(
      shopId,
      memberId,
      "expire",
      total,
      { actor: systemActor, reason: "Points expired" },
      now,
    );
    posting.entry("available", memberId, -total);
    posting.entry("expired", null, total);
    for (const lot of expiring) {
      await repository.changeLotRemaining(trx, shopId, lot.id, -lot.remaining);
      posting.movement(lot.id, -lot.remaining);
    }
    posting.eventData.lots = expiring.map((lot) => ({
      lot_id: lot.id,
      amount: lot.remaining,
      expires_at: lot.expires_at,
    }));
    account.lifetime_expired += total;
    await post(trx, posting, [account]);
  }
  account.next_due_at = await repository.nextDueAt(trx, shopId, memberId);
}

/** Settles one member's account now (expiry, pending confirmation, reservation expiry). */
export async function settleAccount(trx: Tx, shopId: string, memberId: string, now: Date): Promise<PointBalance> {
  const { balance } = await onLockedAccount(trx, shopId, memberId, now, async (account) => ({
    balance: toPointBalance(account),
  }));
  return balance;
}
