import type { Tx } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { type Actor, reverseTransaction } from "../ledger/index.js";
import type { Shop } from "../shops/index.js";
import { commitCheckoutPoints } from "./checkout.js";
import { consumeCode } from "./service.js";
import type { OrderRewardOutcomesTable } from "./tables.js";

/**
 * What orders do to rewards. The events module calls these inside the event's transaction, so an
 * order's points and its rewards change together, and each returns notes for the event's
 * explanation: the admin-visible trace of what happened and why.
 */

export interface PaidOrder {
  shop: Shop;
  orderId: string;
  total: number;
  currency: string;
  /** The platform's cart or checkout token: points held for it are spent on this order. */
  cartId?: string | undefined;
  /** Codes the order used: Laurel's are marked used on it; others are not Laurel's to track. */
  discountCodes?: string[] | undefined;
  actor: Actor;
}

/**
 * A paid order spends the points held for its cart and uses up the Laurel codes it names. The
 * platform already gave the discount, so nothing here refuses the event: what cannot be done (a
 * code used on another order, points no longer there) is noted instead.
 */
export async function rewardsOnOrderPaid(trx: Tx, order: PaidOrder, now: Date): Promise<string[]> {
  const notes: string[] = [];
  for (const code of order.discountCodes ?? []) {
    try {
      const { replayed } = await consumeCode(
        trx,
        {
          shopId: order.shop.id,
          code,
          orderId: order.orderId,
          cart: { total: order.total, currency: order.currency },
          enforceConditions: false,
        },
        now,
      );
      if (!replayed) notes.push(`code ${code} marked used on order ${order.orderId}`);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      // A code the platform made itself is not Laurel's: say so only for codes Laurel knows.
      if (error.code !== "code_not_found") notes.push(`code ${code}: ${error.message}`);
    }
  }
  if (order.cartId !== undefined) {
    try {
      const { note } = await commitCheckoutPoints(
        trx,
        { shopId: order.shop.id, cartId: order.cartId, orderId: order.orderId, actor: order.actor },
        now,
      );
      notes.push(note);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code !== "checkout_points_not_found") notes.push(`points on cart ${order.cartId}: ${error.message}`);
    }
  }
  return notes;
}

export interface UndoneOrder {
  shop: Shop;
  orderId: string;
  /** The order.cancelled or order.refunded event that undid it. */
  eventId: string;
  actor: Actor;
}

/**
 * An order cancelled or wholly refunded: the points spent on it (codes used on it, points at
 * checkout) follow the shop's policy, `keep` or `return`. Each decision is recorded once in
 * `order_reward_outcomes`, so a refund after a cancellation does not return the points twice.
 */
export async function rewardsOnOrderUndone(trx: Tx, order: UndoneOrder, now: Date): Promise<string[]> {
  const shopId = order.shop.id;
  const policy = order.shop.redeemedPointsOnRefund;
  const redemptions = await trx
    .selectFrom("redemptions")
    .select(["id", "member_id", "points", "transaction_id", "code"])
    .where("shop_id", "=", shopId)
    .where("order_id", "=", order.orderId)
    .where("status", "=", "used")
    .execute();
  const checkouts = await trx
    .selectFrom("checkout_points")
    .select(["cart_id", "member_id", "points", "spend_transaction_id"])
    .where("shop_id", "=", shopId)
    .where("order_id", "=", order.orderId)
    .execute();
  const spends = [
    ...redemptions.map((row) => ({
      subjectType: "redemption" as const,
      subjectId: row.id,
      memberId: row.member_id,
      points: Number(row.points),
      transactionId: row.transaction_id,
      label: `code ${row.code}`,
    })),
    ...checkouts.map((row) => ({
      subjectType: "checkout_points" as const,
      subjectId: row.cart_id,
      memberId: row.member_id,
      points: Number(row.points),
      transactionId: row.spend_transaction_id,
      label: `points at checkout (cart ${row.cart_id})`,
    })),
  ];
  const notes: string[] = [];
  for (const spend of spends) {
    const decided = await trx
      .selectFrom("order_reward_outcomes")
      .select("policy")
      .where("shop_id", "=", shopId)
      .where("subject_type", "=", spend.subjectType)
      .where("subject_id", "=", spend.subjectId)
      .executeTakeFirst();
    if (decided) continue;
    let transactionId: string | null = null;
    let returned = 0;
    if (policy === "return" && spend.transactionId !== null) {
      try {
        // Only what is not reversed yet: support may have given some of it back by hand.
        const { transaction } = await reverseTransaction(
          trx,
          {
            shopId,
            transactionId: spend.transactionId,
            reason: `Order ${order.orderId} undone: ${spend.label} returned (shop policy)`,
            reference: order.orderId,
            actor: order.actor,
          },
          now,
        );
        transactionId = transaction.id;
        returned = transaction.amount;
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== "already_reversed") throw error;
      }
    }
    const row: OrderRewardOutcomesTable = {
      shop_id: shopId,
      id: newId("orderOutcome", now),
      order_id: order.orderId,
      member_id: spend.memberId,
      subject_type: spend.subjectType,
      subject_id: spend.subjectId,
      policy,
      points: returned,
      transaction_id: transactionId,
      event_id: order.eventId,
      created_at: now.toISOString(),
    };
    await trx.insertInto("order_reward_outcomes").values(row).execute();
    notes.push(
      policy === "keep"
        ? `${spend.label}: ${spend.points} points stay spent (shop policy: keep)`
        : returned === spend.points
          ? `${spend.label}: ${returned} points returned (shop policy: return)`
          : `${spend.label}: ${returned} points returned (shop policy: return; the other ${spend.points - returned} had already been reversed)`,
    );
  }
  return notes;
}
