import { insertOrBuffer } from "../../platform/db/insert-buffer.js";
import { columnsOf, rawInsert, rawStatement } from "../../platform/db/raw-statement.js";
import type { Tx } from "../../platform/db/transaction.js";
import type { MembersTable } from "../members/tables.js";
import type { EventAwardsTable, EventsTable, OrdersTable } from "./tables.js";

// Every order event runs these; as fixed SQL they skip the query builder (see rawStatement).

const findEventStatement = rawStatement<EventsTable>(
  "select * from events where shop_id = ? and source = ? and external_id = ?",
);

export async function findEvent(
  trx: Tx,
  shopId: string,
  source: string,
  externalId: string,
): Promise<EventsTable | undefined> {
  return (await findEventStatement(trx, [shopId, source, externalId]))[0];
}

/** What events need of a member: who it is now, whether it can earn, and what rules look at. */
export type EventMember = Pick<
  MembersTable,
  | "shop_id"
  | "id"
  | "status"
  | "merged_into_member_id"
  | "birthday_month"
  | "birthday_day"
  | "tags"
  | "joined_at"
  | "created_at"
>;

const findMemberStatement = rawStatement<EventMember>(
  "select shop_id, id, status, merged_into_member_id, birthday_month, birthday_day, tags, joined_at, created_at from members where shop_id = ? and id = ?",
);

export async function findMember(trx: Tx, shopId: string, memberId: string): Promise<EventMember | undefined> {
  return (await findMemberStatement(trx, [shopId, memberId]))[0];
}

const findHolderStatement = rawStatement<{ member_id: string }>(
  "select member_id from member_identifiers where shop_id = ? and kind = ? and value = ?",
);

export async function findIdentifierHolder(
  trx: Tx,
  shopId: string,
  kind: string,
  value: string,
): Promise<string | undefined> {
  return (await findHolderStatement(trx, [shopId, kind, value]))[0]?.member_id;
}

const findOrderStatement = rawStatement<OrdersTable>(
  "select * from orders where shop_id = ? and source = ? and external_id = ?",
);

export async function findOrder(
  trx: Tx,
  shopId: string,
  source: string,
  orderId: string,
): Promise<OrdersTable | undefined> {
  return (await findOrderStatement(trx, [shopId, source, orderId]))[0];
}

const anyOrderStatement = rawStatement<{ external_id: string }>(
  "select external_id from orders where shop_id = ? and member_id = ? limit 1",
);

/** Whether the member has no order yet (any source, paid or cancelled). */
export async function isFirstOrder(trx: Tx, shopId: string, memberId: string): Promise<boolean> {
  return (await anyOrderStatement(trx, [shopId, memberId])).length === 0;
}

const eventColumns = columnsOf<EventsTable>()([
  "shop_id",
  "id",
  "source",
  "external_id",
  "type",
  "member_id",
  "order_id",
  "status",
  "reason",
  "points",
  "occurred_at",
  "received_at",
  "payload",
  "explanation",
]);
// On PostgreSQL a concurrent transaction may store the same (source, external_id) first: the
// insert waits for it, then skips the row, which the missing id in the answer shows.
const insertEventRows = rawInsert(
  "events",
  eventColumns.columns,
  "on conflict (shop_id, source, external_id) do nothing returning id",
);

/** Another transaction stored some of a batch's events first; the batch must run again. */
export class EventsStoredConcurrently extends Error {
  constructor() {
    super("another transaction stored some of these events first");
  }
}

async function insertEventsOrThrow(trx: Tx, rows: ReadonlyArray<readonly unknown[]>): Promise<void> {
  if ((await insertEventRows(trx, rows)).length !== rows.length) throw new EventsStoredConcurrently();
}

/**
 * Stores the event; false when another transaction stored the same (source, external_id) first.
 * In a transaction with an insert buffer the row waits for the flush, which throws
 * EventsStoredConcurrently instead.
 */
export async function insertEvent(trx: Tx, row: EventsTable): Promise<boolean> {
  try {
    await insertOrBuffer(trx, insertEventsOrThrow, [eventColumns.values(row)]);
    return true;
  } catch (error) {
    if (error instanceof EventsStoredConcurrently) return false;
    throw error;
  }
}

const orderColumns = columnsOf<OrdersTable>()([
  "shop_id",
  "source",
  "external_id",
  "member_id",
  "status",
  "currency",
  "total",
  "subtotal",
  "shop_total",
  "refunded",
  "points_earned",
  "points_reversed",
  "paid_event_id",
  "paid_at",
  "cancelled_at",
  "created_at",
  "updated_at",
]);
const insertOrderRows = rawInsert("orders", orderColumns.columns);

export async function insertOrder(trx: Tx, row: OrdersTable): Promise<void> {
  await insertOrBuffer(trx, insertOrderRows, [orderColumns.values(row)]);
}

const awardColumns = columnsOf<EventAwardsTable>()([
  "shop_id",
  "event_id",
  "rule_id",
  "rule_version",
  "member_id",
  "points",
  "transaction_id",
  "occurred_at",
]);
const insertAwardRows = rawInsert("event_awards", awardColumns.columns);

export async function insertAwards(trx: Tx, rows: EventAwardsTable[]): Promise<void> {
  await insertOrBuffer(trx, insertAwardRows, rows.map(awardColumns.values));
}

const eventCreditsStatement = rawStatement<{ id: string; amount: number; reversed_amount: number }>(
  `select t.id, t.amount, t.reversed_amount from ledger_transactions t
   where t.shop_id = ? and t.id in (
     select a.transaction_id from event_awards a where a.shop_id = ? and a.event_id = ? and a.transaction_id is not null
   )
   order by t.id`,
);

/** The ledger credits an event's awards went into, oldest first. */
export async function listEventCredits(trx: Tx, shopId: string, eventId: string) {
  return eventCreditsStatement(trx, [shopId, shopId, eventId]);
}

/** Reads an order under its row lock (the no-op update takes it), so refunds of one order queue up. */
const lockOrderStatement = rawStatement<OrdersTable>(
  "update orders set updated_at = updated_at where shop_id = ? and source = ? and external_id = ? returning *",
);

export async function lockOrder(
  trx: Tx,
  shopId: string,
  source: string,
  orderId: string,
): Promise<OrdersTable | undefined> {
  return (await lockOrderStatement(trx, [shopId, source, orderId]))[0];
}
