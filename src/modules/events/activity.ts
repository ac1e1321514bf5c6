import { sql } from "kysely";
import { flushInserts } from "../../platform/db/insert-buffer.js";
import type { Tx } from "../../platform/db/transaction.js";

/** What members did in a window, as tiers qualify on it. Spend is in the shop currency's minor units. */
export interface MemberActivity {
  /** Shop-currency totals of the orders paid in the window, less the part refunded; cancelled orders count 0. */
  spend: number;
  /** Orders paid in the window that are neither cancelled nor wholly refunded. */
  orders: number;
  /** Points earning rules awarded for events in the window, less what refunds of its orders took back. */
  points: number;
}

export const noActivity: MemberActivity = { spend: 0, orders: 0, points: 0 };

/**
 * The activity of each of `memberIds` in [from, to] (from null: since the beginning), two grouped
 * queries whatever the number of members; `to` is included, so an event at the very moment of an
 * evaluation counts. Members with none are absent from the map. A member's
 * refunded share of an order is rounded the way the order's points were clawed back: down.
 */
export async function memberActivity(
  trx: Tx,
  shopId: string,
  memberIds: readonly string[],
  window: { from: string | null; to: string },
): Promise<Map<string, MemberActivity>> {
  const activity = new Map<string, MemberActivity>();
  if (memberIds.length === 0) return activity;
  // Orders and awards of a batch may still wait in its insert buffer.
  await flushInserts(trx);
  const from = window.from ?? "";
  const orders = await trx
    .selectFrom("orders")
    .select((eb) => [
      "member_id",
      sql<number>`sum(case when status = 'cancelled' or total = 0 then 0 else coalesce(shop_total, 0) - (coalesce(shop_total, 0) * refunded) / total end)`.as(
        "spend",
      ),
      sql<number>`sum(case when status = 'cancelled' or refunded >= total then 0 else 1 end)`.as("orders"),
      eb.fn.sum<number>("points_reversed").as("reversed"),
    ])
    .where("shop_id", "=", shopId)
    .where("member_id", "in", memberIds)
    .where("paid_at", ">=", from)
    .where("paid_at", "<=", window.to)
    .groupBy("member_id")
    .execute();
  for (const row of orders) {
    activity.set(row.member_id as string, {
      spend: Number(row.spend),
      orders: Number(row.orders),
      points: -Number(row.reversed),
    });
  }
  const awards = await trx
    .selectFrom("event_awards")
    .select((eb) => ["member_id", eb.fn.sum<number>("points").as("points")])
    .where("shop_id", "=", shopId)
    .where("member_id", "in", memberIds)
    .where("occurred_at", ">=", from)
    .where("occurred_at", "<=", window.to)
    .groupBy("member_id")
    .execute();
  for (const row of awards) {
    const known = activity.get(row.member_id) ?? { ...noActivity };
    known.points += Number(row.points);
    activity.set(row.member_id, known);
  }
  return activity;
}
