import { type Kysely, sql } from "kysely";
import type { Database } from "../../platform/db/schema.js";

type Db = Kysely<Database>;

/** One broken invariant: which check, on what, and what was found. */
export interface LedgerProblem {
  shopId: string;
  check: string;
  subject: string;
  detail: string;
}

export interface VerifyReport {
  shops: number;
  transactions: number;
  accounts: number;
  lots: number;
  problems: LedgerProblem[];
}

/**
 * Checks every ledger invariant of one shop (or all shops) straight from the tables, in SQL, so it
 * works the same on a database Laurel did not write last (a restore, a crash, a hand edit):
 * - every transaction has at least two entries and they sum to zero;
 * - every cached balance equals the sum of its entries, and the sum of its lots (available,
 *   pending) or of its active reservations (reserved);
 * - no balance and no lot is below zero, and no lot holds more than it was credited;
 * - every lot's remaining amount equals the sum of its movements;
 * - every reservation is consistent with its status and the transactions that settled it.
 */
export async function verifyLedger(db: Db, options: { shopId?: string | undefined } = {}): Promise<VerifyReport> {
  const shopIds = options.shopId
    ? [options.shopId]
    : (await db.selectFrom("shops").select("id").orderBy("id").execute()).map((row) => row.id);
  const report: VerifyReport = { shops: shopIds.length, transactions: 0, accounts: 0, lots: 0, problems: [] };
  for (const shopId of shopIds) await verifyShop(db, shopId, report);
  return report;
}

async function verifyShop(db: Db, shopId: string, report: VerifyReport): Promise<void> {
  const problem = (check: string, subject: string, detail: string) =>
    report.problems.push({ shopId, check, subject, detail });

  const counts = await sql<{ transactions: number; accounts: number; lots: number }>`
    select
      (select count(*) from ledger_transactions where shop_id = ${shopId}) as transactions,
      (select count(*) from point_accounts where shop_id = ${shopId}) as accounts,
      (select count(*) from ledger_lots where shop_id = ${shopId}) as lots`.execute(db);
  const count = counts.rows[0];
  report.transactions += Number(count?.transactions ?? 0);
  report.accounts += Number(count?.accounts ?? 0);
  report.lots += Number(count?.lots ?? 0);

  const unbalanced = await sql<{ id: string; total: number | null; lines: number }>`
    select t.id as id, sum(e.amount) as total, count(e.line) as lines
    from ledger_transactions t
    left join ledger_entries e on e.shop_id = t.shop_id and e.transaction_id = t.id
    where t.shop_id = ${shopId}
    group by t.id
    having count(e.line) < 2 or sum(e.amount) <> 0`.execute(db);
  for (const row of unbalanced.rows) {
    problem("balanced_entries", row.id, `${row.lines} entries summing to ${row.total ?? 0}`);
  }

  const balances = await sql<{
    member_id: string;
    available: number;
    pending: number;
    reserved: number;
    entry_available: number;
    entry_pending: number;
    entry_reserved: number;
    debt: number;
    entry_debt: number;
    lot_available: number;
    lot_pending: number;
    active_reserved: number;
  }>`
    select a.member_id as member_id, a.available as available, a.pending as pending, a.reserved as reserved,
      a.debt as debt, coalesce(e.debt, 0) as entry_debt,
      coalesce(e.available, 0) as entry_available, coalesce(e.pending, 0) as entry_pending,
      coalesce(e.reserved, 0) as entry_reserved,
      coalesce(l.available, 0) as lot_available, coalesce(l.pending, 0) as lot_pending,
      coalesce(r.reserved, 0) as active_reserved
    from point_accounts a
    left join (
      select member_id,
        sum(case when account = 'available' then amount else 0 end) as available,
        sum(case when account = 'pending' then amount else 0 end) as pending,
        sum(case when account = 'reserved' then amount else 0 end) as reserved,
        sum(case when account = 'debt' then amount else 0 end) as debt
      from ledger_entries where shop_id = ${shopId} and member_id is not null group by member_id
    ) e on e.member_id = a.member_id
    left join (
      select member_id,
        sum(case when state = 'available' then remaining else 0 end) as available,
        sum(case when state = 'pending' then remaining else 0 end) as pending
      from ledger_lots where shop_id = ${shopId} group by member_id
    ) l on l.member_id = a.member_id
    left join (
      select member_id, sum(amount) as reserved
      from point_reservations where shop_id = ${shopId} and status = 'active' group by member_id
    ) r on r.member_id = a.member_id
    where a.shop_id = ${shopId}`.execute(db);
  for (const row of balances.rows) {
    const subject = row.member_id;
    for (const bucket of ["available", "pending", "reserved"] as const) {
      const cached = Number(row[bucket]);
      const entries = Number(row[`entry_${bucket}`]);
      if (cached < 0) problem("non_negative_balance", subject, `${bucket} is ${cached}`);
      if (cached !== entries) {
        problem("balance_equals_entries", subject, `${bucket}: cached ${cached}, entries sum to ${entries}`);
      }
    }
    // The debt account's entries sum to zero or below; the cache holds what is owed, positive.
    const debt = Number(row.debt);
    if (debt < 0) problem("non_negative_balance", subject, `debt is ${debt}`);
    if (debt !== -Number(row.entry_debt)) {
      problem("balance_equals_entries", subject, `debt: cached ${debt}, entries sum to ${row.entry_debt}`);
    }
    if (Number(row.available) !== Number(row.lot_available)) {
      problem("balance_equals_lots", subject, `available ${row.available}, available lots hold ${row.lot_available}`);
    }
    if (Number(row.pending) !== Number(row.lot_pending)) {
      problem("balance_equals_lots", subject, `pending ${row.pending}, pending lots hold ${row.lot_pending}`);
    }
    if (Number(row.reserved) !== Number(row.active_reserved)) {
      problem(
        "reserved_equals_reservations",
        subject,
        `reserved ${row.reserved}, active reservations hold ${row.active_reserved}`,
      );
    }
  }

  const orphanEntries = await sql<{ member_id: string }>`
    select distinct e.member_id as member_id from ledger_entries e
    where e.shop_id = ${shopId} and e.member_id is not null
      and not exists (select 1 from point_accounts a where a.shop_id = e.shop_id and a.member_id = e.member_id)`.execute(
    db,
  );
  for (const row of orphanEntries.rows) problem("entries_have_account", row.member_id, "entries without an account");

  const lots = await sql<{ id: string; amount: number; remaining: number; moved: number }>`
    select l.id as id, l.amount as amount, l.remaining as remaining, coalesce(m.moved, 0) as moved
    from ledger_lots l
    left join (
      select lot_id, sum(amount) as moved from ledger_lot_movements where shop_id = ${shopId} group by lot_id
    ) m on m.lot_id = l.id
    where l.shop_id = ${shopId}
      and (l.remaining < 0 or l.remaining > l.amount or l.remaining <> coalesce(m.moved, 0))`.execute(db);
  for (const row of lots.rows) {
    if (Number(row.remaining) < 0) problem("non_negative_lot", row.id, `remaining ${row.remaining}`);
    if (Number(row.remaining) > Number(row.amount)) {
      problem("lot_within_amount", row.id, `remaining ${row.remaining} exceeds the ${row.amount} credited`);
    }
    if (Number(row.remaining) !== Number(row.moved)) {
      problem("lot_equals_movements", row.id, `remaining ${row.remaining}, movements sum to ${row.moved}`);
    }
  }

  const reservations = await sql<{
    id: string;
    status: string;
    amount: number;
    committed_amount: number;
    commit_transaction_id: string | null;
    release_transaction_id: string | null;
    drawn: number;
  }>`
    select r.id as id, r.status as status, r.amount as amount, r.committed_amount as committed_amount,
      r.commit_transaction_id as commit_transaction_id, r.release_transaction_id as release_transaction_id,
      coalesce((select -sum(m.amount) from ledger_lot_movements m
        where m.shop_id = r.shop_id and m.transaction_id = r.reserve_transaction_id), 0) as drawn
    from point_reservations r
    where r.shop_id = ${shopId}`.execute(db);
  for (const row of reservations.rows) {
    const amount = Number(row.amount);
    if (Number(row.drawn) !== amount) {
      problem("reservation_drew_lots", row.id, `reserved ${amount} but drew ${row.drawn} from lots`);
    }
    const consistent =
      (row.status === "active" && row.commit_transaction_id === null && row.release_transaction_id === null) ||
      (row.status === "committed" &&
        row.commit_transaction_id !== null &&
        Number(row.committed_amount) > 0 &&
        Number(row.committed_amount) <= amount) ||
      ((row.status === "released" || row.status === "expired") &&
        row.release_transaction_id !== null &&
        row.commit_transaction_id === null);
    if (!consistent) problem("reservation_status", row.id, `status ${row.status} does not match its transactions`);
  }
}
