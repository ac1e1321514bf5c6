import { type Kysely, sql } from "kysely";
import type { DatabaseHandle } from "../../platform/db/database.js";
import type { Database } from "../../platform/db/schema.js";
import { withTransaction } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import { zonedDateTime, zonedDayStart } from "../../platform/zoned-time.js";
import { getShop } from "../shops/index.js";
import * as repository from "./repository.js";
import {
  type LedgerTransaction,
  type Lot,
  type PointBalance,
  type Reservation,
  toLedgerTransaction,
  toLot,
  toPointBalance,
  toReservation,
} from "./representation.js";
import { settleAccount } from "./service.js";
import type { LedgerEntriesTable, LedgerLotMovementsTable, ReservationStatus, TransactionType } from "./tables.js";

type Db = Kysely<Database>;

export interface PointsSummary extends PointBalance {
  /**
   * The balance to show the member: available points, less what they owe when the shop allows a
   * balance below zero (`allow_negative_balance`); otherwise the debt is not subtracted.
   */
  balance: number;
  /** The soonest expiry among available points, and how many points expire then. */
  nextExpiration: { at: string; points: number } | null;
  expiringWithin30Days: number;
  asOf: string;
}

const thirtyDaysMs = 30 * 24 * 60 * 60 * 1000;

/**
 * A member's points as of `now`. When something has fallen due (an expiry, a pending date, a
 * reservation's end) the account is settled first, so a read never shows points that are gone.
 */
export async function getPointsSummary(
  database: DatabaseHandle,
  shopId: string,
  memberId: string,
  now: Date,
): Promise<PointsSummary> {
  const nowIso = now.toISOString();
  const account = await settledAccount(database, shopId, memberId, now);
  // Available points by expiry moment, soonest first.
  const byExpiry = database.db
    .selectFrom("ledger_lots")
    .select(["expires_at"])
    .select((eb) => eb.fn.sum<number>("remaining").as("points"))
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("state", "=", "available")
    .where("remaining", ">", 0)
    .where("expires_at", "is not", null)
    .groupBy("expires_at")
    .orderBy("expires_at");
  const expiring = await byExpiry
    .where("expires_at", "<=", new Date(now.getTime() + thirtyDaysMs).toISOString())
    .execute();
  // Nothing within 30 days: the next expiry may still be further out.
  const first = expiring[0] ?? (await byExpiry.limit(1).executeTakeFirst());
  const shop = await database.db
    .selectFrom("shops")
    .select("allow_negative_balance")
    .where("id", "=", shopId)
    .executeTakeFirst();
  const showDebt = Number(shop?.allow_negative_balance ?? 0) === 1;
  return {
    ...toPointBalance(account),
    balance: showDebt ? account.available - account.debt : account.available,
    nextExpiration: first?.expires_at ? { at: first.expires_at, points: Number(first.points) } : null,
    expiringWithin30Days: expiring.reduce((sum, row) => sum + Number(row.points), 0),
    asOf: nowIso,
  };
}

/**
 * The member's account as of `now`. When something has fallen due, the account is settled first
 * (one short write), so no read shows an expired lot, a lapsed reservation as active or pending
 * points past their date.
 */
async function settledAccount(database: DatabaseHandle, shopId: string, memberId: string, now: Date) {
  const account = await repository.findAccount(database.db, shopId, memberId);
  if (!account) throw new AppError("member_not_found", `No member ${memberId} in this shop`);
  if (account.next_due_at === null || account.next_due_at > now.toISOString()) return account;
  await withTransaction(database, (trx) => settleAccount(trx, shopId, memberId, now));
  return (await repository.findAccount(database.db, shopId, memberId)) ?? account;
}

export interface TransactionFilter {
  limit: number;
  after?: string | undefined;
  types?: TransactionType[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** The transactions that touched a member's points, newest first. */
export async function listTransactions(
  database: DatabaseHandle,
  shopId: string,
  memberId: string,
  filter: TransactionFilter,
  now: Date,
): Promise<LedgerTransaction[]> {
  await settledAccount(database, shopId, memberId, now);
  const rows = await repository.listMemberTransactions(database.db, shopId, memberId, {
    limit: filter.limit,
    before: filter.after,
    ...(filter.types ? { types: filter.types } : {}),
    ...(filter.from ? { from: filter.from } : {}),
    ...(filter.to ? { to: filter.to } : {}),
  });
  return rows.map(toLedgerTransaction);
}

export interface TransactionDetail {
  transaction: LedgerTransaction;
  entries: LedgerEntriesTable[];
  movements: LedgerLotMovementsTable[];
}

/** One transaction with its entries and the lot movements it made: the full trace of a change. */
export async function getTransactionDetail(db: Db, shopId: string, transactionId: string): Promise<TransactionDetail> {
  const row = await repository.findTransaction(db, shopId, transactionId);
  if (!row) throw new AppError("transaction_not_found", `No points transaction ${transactionId} in this shop`);
  return {
    transaction: toLedgerTransaction(row),
    entries: await repository.listEntries(db, shopId, transactionId),
    movements: await repository.listMovementsOf(db, shopId, [transactionId]),
  };
}

/** A member's lots that still hold points, newest first. */
export async function listLots(
  database: DatabaseHandle,
  shopId: string,
  memberId: string,
  page: { limit: number; after?: string | undefined },
  now: Date,
): Promise<Lot[]> {
  await settledAccount(database, shopId, memberId, now);
  return (await repository.listOpenLots(database.db, shopId, memberId, page)).map(toLot);
}

export async function getReservation(
  database: DatabaseHandle,
  shopId: string,
  reservationId: string,
  now: Date,
): Promise<Reservation> {
  let row = await repository.findReservation(database.db, shopId, reservationId);
  if (!row) throw new AppError("reservation_not_found", `No reservation ${reservationId} in this shop`);
  if (row.status === "active" && row.expires_at <= now.toISOString()) {
    await settledAccount(database, shopId, row.member_id, now);
    row = (await repository.findReservation(database.db, shopId, reservationId)) ?? row;
  }
  return toReservation(row);
}

export async function listReservations(
  database: DatabaseHandle,
  shopId: string,
  memberId: string,
  page: { limit: number; after?: string | undefined; status?: ReservationStatus | undefined },
  now: Date,
): Promise<Reservation[]> {
  await settledAccount(database, shopId, memberId, now);
  return (
    await repository.listMemberReservations(database.db, shopId, memberId, {
      limit: page.limit,
      before: page.after,
      status: page.status,
    })
  ).map(toReservation);
}

/**
 * Settles every account of a shop whose next due moment has passed: expiries, pending dates and
 * reservation ends become ledger transactions (and outbox events). One short transaction per
 * member, so the sweep never holds the writer for long. Returns how many accounts it settled.
 */
export async function settleDueAccounts(database: DatabaseHandle, shopId: string, now: Date): Promise<number> {
  let settled = 0;
  for (;;) {
    const due = await repository.listDueAccounts(database.db, shopId, now.toISOString(), 200);
    if (due.length === 0) return settled;
    for (const memberId of due) {
      await withTransaction(database, (trx) => settleAccount(trx, shopId, memberId, now));
      settled += 1;
    }
  }
}

export interface Money {
  amount: number;
  currency: string;
}

export interface PointsLiability {
  asOf: string;
  currency: string;
  rate: { points: number; amount: number };
  available: number;
  pending: number;
  reserved: number;
  /** available + pending + reserved: every point the shop may still have to honour. */
  outstanding: number;
  value: Money;
  /** Points whose expiry has passed but that no settlement has expired yet; not counted as owed. */
  awaitingExpiry: number;
  /** Available and pending points by the month (in the shop's time zone) they expire; null: never. */
  byExpiryMonth: Array<{ month: string | null; points: number; value: Money }>;
}

/** `points` at the shop's rate, rounded half up to a whole minor unit. BigInt keeps it exact. */
export function pointsValue(points: number, rate: { points: number; amount: number }): number {
  const numerator = BigInt(points) * BigInt(rate.amount) * 2n + BigInt(rate.points);
  return Number(numerator / (BigInt(rate.points) * 2n));
}

/** The longest expiry horizon split by month; anything later is one "later" bucket. */
const maxLiabilityMonths = 600;

/**
 * What the shop owes in points: outstanding points and their money value at the redemption rate,
 * split by the month the points expire. Counted from the lots themselves (not cached balances),
 * leaving out points already past their expiry that a settlement has not yet expired.
 */
export async function pointsLiability(db: Db, shopId: string, now: Date): Promise<PointsLiability> {
  const shop = await getShop(db, shopId);
  const rate = { points: shop.redemptionRate.points, amount: shop.redemptionRate.amount };
  const nowIso = now.toISOString();
  const money = (points: number): Money => ({ amount: pointsValue(points, rate), currency: shop.baseCurrency });

  const totals = await db
    .selectFrom("ledger_lots")
    .select([
      sql<number>`coalesce(sum(case when state = 'available' and (expires_at is null or expires_at > ${nowIso}) then remaining else 0 end), 0)`.as(
        "available",
      ),
      sql<number>`coalesce(sum(case when state = 'pending' and (expires_at is null or expires_at > ${nowIso}) then remaining else 0 end), 0)`.as(
        "pending",
      ),
      sql<number>`coalesce(sum(case when expires_at <= ${nowIso} then remaining else 0 end), 0)`.as("awaiting"),
      sql<number>`coalesce(sum(case when expires_at is null then remaining else 0 end), 0)`.as("never"),
      sql<string | null>`max(expires_at)`.as("latest"),
    ])
    .where("shop_id", "=", shopId)
    .where("remaining", ">", 0)
    .executeTakeFirstOrThrow();
  const reserved = await db
    .selectFrom("point_reservations")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("amount"), sql<number>`0`).as("points"))
    .where("shop_id", "=", shopId)
    .where("status", "=", "active")
    .executeTakeFirstOrThrow();

  const available = Number(totals.available);
  const pending = Number(totals.pending);
  const reservedPoints = Number(reserved.points);
  const outstanding = available + pending + reservedPoints;

  const byExpiryMonth: PointsLiability["byExpiryMonth"] = [];
  if (totals.latest !== null && totals.latest > nowIso) {
    const start = zonedDateTime(now, shop.timezone);
    const end = zonedDateTime(new Date(totals.latest), shop.timezone);
    const count = Math.min((end.year - start.year) * 12 + (end.month - start.month) + 1, maxLiabilityMonths);
    const months = Array.from({ length: count }, (_, index) => {
      const year = start.year + Math.floor((start.month - 1 + index) / 12);
      const month = ((start.month - 1 + index) % 12) + 1;
      return {
        label: `${year}-${String(month).padStart(2, "0")}`,
        // The current month counts from now: what expired earlier this month is awaiting expiry.
        from: index === 0 ? nowIso : zonedDayStart(year, month, 1, shop.timezone).toISOString(),
        to: zonedDayStart(year, month + 1, 1, shop.timezone).toISOString(),
      };
    });
    const monthRows = sql.join(
      months.map((month) => sql`select ${month.label} as month, ${month.from} as starts, ${month.to} as ends`),
      sql` union all `,
    );
    const { rows } = await sql<{ month: string; points: number }>`
      with months as (${monthRows})
      select months.month as month, sum(ledger_lots.remaining) as points
      from months
      join ledger_lots on ledger_lots.shop_id = ${shopId}
        and ledger_lots.remaining > 0
        and ledger_lots.expires_at > months.starts
        and ledger_lots.expires_at <= months.ends
      group by months.month
      order by months.month`.execute(db);
    let counted = 0;
    for (const row of rows) {
      const points = Number(row.points);
      counted += points;
      byExpiryMonth.push({ month: row.month, points, value: money(points) });
    }
    const later = available + pending - Number(totals.never) - counted;
    if (later > 0) byExpiryMonth.push({ month: "later", points: later, value: money(later) });
  }
  const never = Number(totals.never);
  if (never > 0) byExpiryMonth.push({ month: null, points: never, value: money(never) });

  return {
    asOf: nowIso,
    currency: shop.baseCurrency,
    rate,
    available,
    pending,
    reserved: reservedPoints,
    outstanding,
    value: money(outstanding),
    awaitingExpiry: Number(totals.awaiting),
    byExpiryMonth,
  };
}
