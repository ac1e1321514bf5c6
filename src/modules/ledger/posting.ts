import type { Tx } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { writeOutboxEvents } from "../../platform/outbox.js";
import * as repository from "./repository.js";
import { type Actor, toBalanceJson, toLedgerTransaction, toPointBalance, toTransactionJson } from "./representation.js";
import type {
  Account,
  LedgerEntriesTable,
  LedgerLotMovementsTable,
  LedgerLotsTable,
  LedgerTransactionsTable,
  PointAccountsTable,
  TransactionType,
} from "./tables.js";
import { memberAccounts } from "./tables.js";

export const systemActor: Actor = { type: "system", id: null };

/** What every ledger change carries besides its amounts. */
export interface TransactionDetails {
  reason?: string | null | undefined;
  /** The outside thing it belongs to: an order, event or redemption id. */
  reference?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  actor: Actor;
  /** Unique per shop; the same key again returns the first transaction instead of a second one. */
  idempotencyKey?: string | null | undefined;
}

const eventTypes: Record<TransactionType, string> = {
  earn: "points.earned",
  import: "points.imported",
  adjust: "points.adjusted",
  redeem: "points.spent",
  reserve: "points.reserved",
  release: "points.released",
  confirm: "points.confirmed",
  expire: "points.expired",
  reverse: "points.reversed",
  transfer: "points.transferred",
};

/**
 * One ledger transaction being assembled: its entries and lot movements. `post` writes it, and
 * derives every member balance change from the entries, so cached balances cannot drift from them.
 */
export class Posting {
  readonly row: LedgerTransactionsTable;
  readonly entries: LedgerEntriesTable[] = [];
  readonly movements: LedgerLotMovementsTable[] = [];
  /** Extra fields for the outbox event (lots created or expired, the reservation). */
  readonly eventData: Record<string, unknown> = {};

  constructor(
    shopId: string,
    memberId: string,
    type: TransactionType,
    amount: number,
    details: TransactionDetails,
    now: Date,
    links: { reversesTransactionId?: string; confirmsTransactionId?: string; reservationId?: string } = {},
  ) {
    this.row = {
      shop_id: shopId,
      id: newId("ledgerTransaction", now),
      member_id: memberId,
      type,
      amount,
      reason: details.reason ?? null,
      reference: details.reference ?? null,
      actor_type: details.actor.type,
      actor_id: details.actor.id,
      metadata: JSON.stringify(details.metadata ?? {}),
      idempotency_key: details.idempotencyKey ?? null,
      reverses_transaction_id: links.reversesTransactionId ?? null,
      confirms_transaction_id: links.confirmsTransactionId ?? null,
      reversed_amount: 0,
      reservation_id: links.reservationId ?? null,
      created_at: now.toISOString(),
    };
  }

  /** A signed entry; `memberId` null addresses the shop's system account of that name. */
  entry(account: Account, memberId: string | null, amount: number): this {
    if (amount !== 0) {
      this.entries.push({
        shop_id: this.row.shop_id,
        transaction_id: this.row.id,
        line: this.entries.length + 1,
        account,
        member_id: memberId,
        amount,
      });
    }
    return this;
  }

  /** Records a change to a lot's remaining amount (the caller has applied it to the lot row). */
  movement(lotId: string, amount: number): this {
    if (amount !== 0) {
      this.movements.push({
        shop_id: this.row.shop_id,
        transaction_id: this.row.id,
        lot_id: lotId,
        seq: this.movements.length + 1,
        amount,
      });
    }
    return this;
  }
}

/**
 * Writes a posting: the transaction, its entries and lot movements, the member balances it changes
 * (in `accounts`, saved by the caller at the end of the command) and its outbox event. Refuses an
 * unbalanced posting or one that would take a member account below zero: that is a bug, and the
 * whole database transaction rolls back.
 */
export async function post(trx: Tx, posting: Posting, accounts: PointAccountsTable[]): Promise<void> {
  const sum = posting.entries.reduce((total, entry) => total + entry.amount, 0);
  if (sum !== 0 || posting.entries.length < 2) {
    throw new Error(`unbalanced ledger transaction ${posting.row.type}: entries sum to ${sum}`);
  }
  for (const entry of posting.entries) {
    if (entry.member_id === null) continue;
    const account = accounts.find((candidate) => candidate.member_id === entry.member_id);
    if (!account || !(memberAccounts as readonly string[]).includes(entry.account)) {
      throw new Error(`entry on ${entry.account} of member ${entry.member_id} without its locked account`);
    }
    // The debt account's balance is zero or below; the cache keeps what is owed as a positive number.
    if (entry.account === "debt") account.debt -= entry.amount;
    else account[entry.account as "available" | "pending" | "reserved"] += entry.amount;
    if (account.available < 0 || account.pending < 0 || account.reserved < 0 || account.debt < 0) {
      throw new Error(`ledger transaction ${posting.row.type} would take ${entry.account} below zero`);
    }
  }
  await repository.insertTransaction(trx, posting.row, posting.entries, posting.movements);
  const now = new Date(posting.row.created_at);
  const touched = accounts.filter((account) => posting.entries.some((entry) => entry.member_id === account.member_id));
  await writeOutboxEvents(
    trx,
    posting.row.shop_id,
    [
      {
        type: eventTypes[posting.row.type],
        subjectType: "member",
        subjectId: posting.row.member_id,
        data: {
          member_id: posting.row.member_id,
          transaction: toTransactionJson(toLedgerTransaction(posting.row)),
          balances: touched.map((account) => toBalanceJson(toPointBalance(account))),
          ...posting.eventData,
        },
      },
    ],
    now,
  );
}

/** Takes a member's account lock, or 404s when the member has no points account in this shop. */
export async function lockAccountOrThrow(trx: Tx, shopId: string, memberId: string): Promise<PointAccountsTable> {
  const account = await repository.lockAccount(trx, shopId, memberId);
  if (!account) throw new AppError("member_not_found", `No member ${memberId} in this shop`);
  return account;
}

/**
 * Draws `amount` from a member's spendable lots, soonest expiry first (never-expiring last, then
 * oldest), applying each draw to its lot and recording it on the posting.
 */
export async function drawFromLots(
  trx: Tx,
  posting: Posting,
  memberId: string,
  amount: number,
  options: { skipLotId?: string } = {},
): Promise<void> {
  let left = amount;
  for (const lot of await repository.listSpendableLots(trx, posting.row.shop_id, memberId)) {
    if (left === 0) break;
    if (lot.id === options.skipLotId) continue;
    const take = Math.min(lot.remaining, left);
    await repository.changeLotRemaining(trx, posting.row.shop_id, lot.id, -take);
    posting.movement(lot.id, -take);
    left -= take;
  }
  if (left !== 0) throw new Error(`lots of member ${memberId} hold ${amount - left} points less than the balance`);
}

/**
 * Gives back up to `amount` points to the lots that earlier debits drew from. `consumedBy` are the
 * transactions whose movements say what was drawn (and what was already given back); lots are
 * restored in the reverse of the order they were drawn, so the points that would have been spent
 * last come back first. Returns the restored lots, so the caller can note their expiry.
 */
export async function restoreLots(
  trx: Tx,
  posting: Posting,
  consumedBy: string[],
  amount: number,
): Promise<LedgerLotsTable[]> {
  const shopId = posting.row.shop_id;
  const movements = await repository.listMovementsOf(trx, shopId, consumedBy);
  const drawn = new Map<string, number>();
  const order = new Set<string>();
  for (const movement of movements) {
    if (movement.amount < 0) order.add(movement.lot_id);
    drawn.set(movement.lot_id, (drawn.get(movement.lot_id) ?? 0) - movement.amount);
  }
  let left = amount;
  const restored: string[] = [];
  for (const lotId of [...order].reverse()) {
    if (left === 0) break;
    const give = Math.min(drawn.get(lotId) ?? 0, left);
    if (give <= 0) continue;
    await repository.changeLotRemaining(trx, shopId, lotId, give);
    posting.movement(lotId, give);
    restored.push(lotId);
    left -= give;
  }
  if (left !== 0) throw new Error(`cannot restore ${left} of ${amount} points: the lots drawn hold less`);
  return repository.findLots(trx, shopId, restored);
}
