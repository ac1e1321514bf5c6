import { type Kysely, sql } from "kysely";
import { earliest } from "../../platform/clock.js";
import { flushInserts, insertOrBuffer } from "../../platform/db/insert-buffer.js";
import { columnsOf, rawInsert, rawStatement } from "../../platform/db/raw-statement.js";
import type { Database } from "../../platform/db/schema.js";
import type {
  LedgerEntriesTable,
  LedgerLotMovementsTable,
  LedgerLotsTable,
  LedgerTransactionsTable,
  PointAccountsTable,
  PointReservationsTable,
  TransactionType,
} from "./tables.js";

type Db = Kysely<Database>;

export async function insertAccount(db: Db, row: PointAccountsTable): Promise<void> {
  await db.insertInto("point_accounts").values(row).execute();
}

export async function findAccount(db: Db, shopId: string, memberId: string): Promise<PointAccountsTable | undefined> {
  return db
    .selectFrom("point_accounts")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .executeTakeFirst();
}

/**
 * Reads a member's account and takes its row lock until the transaction ends: every change to a
 * member's points starts here, so two changes to one member never interleave. The version bump is
 * the write that takes the lock on PostgreSQL; on SQLite the transaction already holds the writer.
 */
// The statements every points change runs, written once as SQL (see rawStatement for why).
// SQLite: the transaction (BEGIN IMMEDIATE) already holds the database's only write lock, so a
// plain read is enough, and costs a third of the update.
const lockAccountStatement = rawStatement<PointAccountsTable>({
  sqlite: "select * from point_accounts where shop_id = ? and member_id = ?",
  postgres: "update point_accounts set version = version + 1 where shop_id = ? and member_id = ? returning *",
});

export async function lockAccount(db: Db, shopId: string, memberId: string): Promise<PointAccountsTable | undefined> {
  return (await lockAccountStatement(db, [shopId, memberId]))[0];
}

const saveAccountStatement = rawStatement(
  "update point_accounts set available = ?, pending = ?, reserved = ?, lifetime_earned = ?, lifetime_spent = ?, lifetime_expired = ?, debt = ?, next_due_at = ?, updated_at = ? where shop_id = ? and member_id = ?",
);

export async function saveAccount(db: Db, row: PointAccountsTable): Promise<void> {
  await saveAccountStatement(db, [
    row.available,
    row.pending,
    row.reserved,
    row.lifetime_earned,
    row.lifetime_spent,
    row.lifetime_expired,
    row.debt,
    row.next_due_at,
    row.updated_at,
    row.shop_id,
    row.member_id,
  ]);
}

const transactionColumns = columnsOf<LedgerTransactionsTable>()([
  "shop_id",
  "id",
  "member_id",
  "type",
  "amount",
  "reason",
  "reference",
  "actor_type",
  "actor_id",
  "metadata",
  "idempotency_key",
  "reverses_transaction_id",
  "confirms_transaction_id",
  "reversed_amount",
  "reservation_id",
  "created_at",
]);
const entryColumns = columnsOf<LedgerEntriesTable>()([
  "shop_id",
  "transaction_id",
  "line",
  "account",
  "member_id",
  "amount",
]);
const movementColumns = columnsOf<LedgerLotMovementsTable>()(["shop_id", "transaction_id", "lot_id", "seq", "amount"]);
const lotColumns = columnsOf<LedgerLotsTable>()([
  "shop_id",
  "id",
  "member_id",
  "transaction_id",
  "state",
  "amount",
  "remaining",
  "pending_until",
  "expires_at",
  "created_at",
]);
const insertTransactionRows = rawInsert("ledger_transactions", transactionColumns.columns);
const insertEntryRows = rawInsert("ledger_entries", entryColumns.columns);
const insertMovementRows = rawInsert("ledger_lot_movements", movementColumns.columns);
const insertLotRows = rawInsert("ledger_lots", lotColumns.columns);

// Transactions, entries, lot movements and lots go into the database transaction's insert buffer
// when it has one (a batch of events writes a thousand credits, and multi-row inserts halve what
// they cost). Every read or update of those tables below flushes the buffer first, so the ledger
// always sees what it wrote; rows go in table by table in first-use order, and a transaction's
// entries are always added after the transaction itself, which their foreign key needs.
export async function insertTransaction(
  db: Db,
  transaction: LedgerTransactionsTable,
  entries: LedgerEntriesTable[],
  movements: LedgerLotMovementsTable[],
): Promise<void> {
  await insertOrBuffer(db, insertTransactionRows, [transactionColumns.values(transaction)]);
  await insertOrBuffer(db, insertEntryRows, entries.map(entryColumns.values));
  await insertOrBuffer(db, insertMovementRows, movements.map(movementColumns.values));
}

export async function findTransaction(
  db: Db,
  shopId: string,
  transactionId: string,
): Promise<LedgerTransactionsTable | undefined> {
  await flushInserts(db);
  return db
    .selectFrom("ledger_transactions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", transactionId)
    .executeTakeFirst();
}

export async function findTransactionByIdempotencyKey(
  db: Db,
  shopId: string,
  key: string,
): Promise<LedgerTransactionsTable | undefined> {
  await flushInserts(db);
  return db
    .selectFrom("ledger_transactions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("idempotency_key", "=", key)
    .executeTakeFirst();
}

export async function addReversedAmount(db: Db, shopId: string, transactionId: string, amount: number): Promise<void> {
  await flushInserts(db);
  await db
    .updateTable("ledger_transactions")
    .set((eb) => ({ reversed_amount: eb("reversed_amount", "+", amount) }))
    .where("shop_id", "=", shopId)
    .where("id", "=", transactionId)
    .execute();
}

/** The transactions that touched a member's accounts, newest first. */
export async function listMemberTransactions(
  db: Db,
  shopId: string,
  memberId: string,
  filter: { limit: number; before?: string | undefined; types?: TransactionType[]; from?: string; to?: string },
): Promise<LedgerTransactionsTable[]> {
  await flushInserts(db);
  let query = db
    .selectFrom("ledger_transactions")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "in", (eb) =>
      eb
        .selectFrom("ledger_entries")
        .select("transaction_id")
        .where("shop_id", "=", shopId)
        .where("member_id", "=", memberId),
    );
  if (filter.before) query = query.where("id", "<", filter.before);
  if (filter.types && filter.types.length > 0) query = query.where("type", "in", filter.types);
  if (filter.from) query = query.where("created_at", ">=", filter.from);
  if (filter.to) query = query.where("created_at", "<", filter.to);
  return query.orderBy("id", "desc").limit(filter.limit).execute();
}

export async function listEntries(db: Db, shopId: string, transactionId: string): Promise<LedgerEntriesTable[]> {
  await flushInserts(db);
  return db
    .selectFrom("ledger_entries")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("transaction_id", "=", transactionId)
    .orderBy("line")
    .execute();
}

export async function listMovementsOf(
  db: Db,
  shopId: string,
  transactionIds: string[],
): Promise<LedgerLotMovementsTable[]> {
  await flushInserts(db);
  if (transactionIds.length === 0) return [];
  return db
    .selectFrom("ledger_lot_movements")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("transaction_id", "in", transactionIds)
    .orderBy("transaction_id")
    .orderBy("seq")
    .execute();
}

export async function listReversalIds(db: Db, shopId: string, transactionId: string): Promise<string[]> {
  await flushInserts(db);
  const rows = await db
    .selectFrom("ledger_transactions")
    .select("id")
    .where("shop_id", "=", shopId)
    .where("reverses_transaction_id", "=", transactionId)
    .execute();
  return rows.map((row) => row.id);
}

export async function insertLot(db: Db, row: LedgerLotsTable): Promise<void> {
  await insertOrBuffer(db, insertLotRows, [lotColumns.values(row)]);
}

export async function changeLotRemaining(db: Db, shopId: string, lotId: string, delta: number): Promise<void> {
  await flushInserts(db);
  await db
    .updateTable("ledger_lots")
    .set((eb) => ({ remaining: eb("remaining", "+", delta) }))
    .where("shop_id", "=", shopId)
    .where("id", "=", lotId)
    .execute();
}

export async function markLotAvailable(db: Db, shopId: string, lotId: string): Promise<void> {
  await flushInserts(db);
  await db
    .updateTable("ledger_lots")
    .set({ state: "available", pending_until: null })
    .where("shop_id", "=", shopId)
    .where("id", "=", lotId)
    .execute();
}

export async function findLots(db: Db, shopId: string, lotIds: string[]): Promise<LedgerLotsTable[]> {
  await flushInserts(db);
  if (lotIds.length === 0) return [];
  return db.selectFrom("ledger_lots").selectAll().where("shop_id", "=", shopId).where("id", "in", lotIds).execute();
}

/** The lots a transaction credited that still hold pending points (a credit has one; a transfer may have several). */
export async function listPendingLotsOfTransaction(
  db: Db,
  shopId: string,
  transactionId: string,
): Promise<LedgerLotsTable[]> {
  await flushInserts(db);
  return db
    .selectFrom("ledger_lots")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("transaction_id", "=", transactionId)
    .where("state", "=", "pending")
    .where("remaining", ">", 0)
    .orderBy("id")
    .execute();
}

export async function findLotOfTransaction(
  db: Db,
  shopId: string,
  transactionId: string,
): Promise<LedgerLotsTable | undefined> {
  await flushInserts(db);
  return db
    .selectFrom("ledger_lots")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("transaction_id", "=", transactionId)
    .executeTakeFirst();
}

/** Spendable lots in the order they are spent: soonest expiry first, never-expiring last, then oldest. */
export async function listSpendableLots(db: Db, shopId: string, memberId: string): Promise<LedgerLotsTable[]> {
  await flushInserts(db);
  return db
    .selectFrom("ledger_lots")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("state", "=", "available")
    .where("remaining", ">", 0)
    .orderBy(sql`expires_at asc nulls last`)
    .orderBy("id")
    .execute();
}

export async function listPendingLots(db: Db, shopId: string, memberId: string): Promise<LedgerLotsTable[]> {
  await flushInserts(db);
  return db
    .selectFrom("ledger_lots")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("state", "=", "pending")
    .where("remaining", ">", 0)
    .orderBy("id")
    .execute();
}

/** A member's lots that still hold points (available and pending), newest first. */
export async function listOpenLots(
  db: Db,
  shopId: string,
  memberId: string,
  page: { limit: number; after?: string | undefined },
): Promise<LedgerLotsTable[]> {
  await flushInserts(db);
  let query = db
    .selectFrom("ledger_lots")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("remaining", ">", 0);
  if (page.after) query = query.where("id", "<", page.after);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}

export async function listDueExpiringLots(db: Db, shopId: string, memberId: string, now: string) {
  await flushInserts(db);
  return db
    .selectFrom("ledger_lots")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("state", "=", "available")
    .where("remaining", ">", 0)
    .where("expires_at", "<=", now)
    .orderBy("expires_at")
    .orderBy("id")
    .execute();
}

export async function listDuePendingLots(db: Db, shopId: string, memberId: string, now: string) {
  await flushInserts(db);
  return db
    .selectFrom("ledger_lots")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("state", "=", "pending")
    .where("remaining", ">", 0)
    .where("pending_until", "<=", now)
    .orderBy("pending_until")
    .orderBy("id")
    .execute();
}

/** The earliest moment anything of this member falls due, recomputed from the rows themselves. */
export async function nextDueAt(db: Db, shopId: string, memberId: string): Promise<string | null> {
  await flushInserts(db);
  // Sequential, not Promise.all: inside a transaction these share one connection.
  const expiry = await db
    .selectFrom("ledger_lots")
    .select((eb) => eb.fn.min("expires_at").as("at"))
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("state", "=", "available")
    .where("remaining", ">", 0)
    .executeTakeFirst();
  const pending = await db
    .selectFrom("ledger_lots")
    .select((eb) => eb.fn.min("pending_until").as("at"))
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("state", "=", "pending")
    .where("remaining", ">", 0)
    .executeTakeFirst();
  const reservation = await db
    .selectFrom("point_reservations")
    .select((eb) => eb.fn.min("expires_at").as("at"))
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("status", "=", "active")
    .executeTakeFirst();
  return earliest([expiry?.at, pending?.at, reservation?.at]);
}

export async function insertReservation(db: Db, row: PointReservationsTable): Promise<void> {
  await db.insertInto("point_reservations").values(row).execute();
}

export async function findReservation(
  db: Db,
  shopId: string,
  reservationId: string,
): Promise<PointReservationsTable | undefined> {
  return db
    .selectFrom("point_reservations")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("id", "=", reservationId)
    .executeTakeFirst();
}

export async function updateReservation(
  db: Db,
  row: Pick<PointReservationsTable, "shop_id" | "id"> & Partial<PointReservationsTable>,
): Promise<void> {
  const { shop_id, id, ...changes } = row;
  await db.updateTable("point_reservations").set(changes).where("shop_id", "=", shop_id).where("id", "=", id).execute();
}

export async function listDueReservations(db: Db, shopId: string, memberId: string, now: string) {
  return db
    .selectFrom("point_reservations")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("status", "=", "active")
    .where("expires_at", "<=", now)
    .orderBy("expires_at")
    .orderBy("id")
    .execute();
}

export async function countActiveReservations(db: Db, shopId: string, memberId: string): Promise<number> {
  const row = await db
    .selectFrom("point_reservations")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("status", "=", "active")
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function listMemberReservations(
  db: Db,
  shopId: string,
  memberId: string,
  page: { limit: number; before?: string | undefined; status?: string | undefined },
): Promise<PointReservationsTable[]> {
  let query = db
    .selectFrom("point_reservations")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId);
  if (page.status) query = query.where("status", "=", page.status as PointReservationsTable["status"]);
  if (page.before) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}

/** Accounts whose next due moment has passed, for the settlement sweep. */
export async function listDueAccounts(db: Db, shopId: string, now: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom("point_accounts")
    .select("member_id")
    .where("shop_id", "=", shopId)
    .where("next_due_at", "<=", now)
    .orderBy("next_due_at")
    .limit(limit)
    .execute();
  return rows.map((row) => row.member_id);
}
