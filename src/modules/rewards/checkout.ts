import type { Kysely } from "kysely";
import type { DatabaseHandle } from "../../platform/db/database.js";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError, invalidField } from "../../platform/errors.js";
import { convertFromShopCurrency } from "../exchange-rates/index.js";
import {
  type Actor,
  commitReservation,
  debitPoints,
  getReservation,
  lockMemberAccount,
  type Reservation,
  readReservation,
  releaseReservation,
  reservePoints,
} from "../ledger/index.js";
import { getMember } from "../members/index.js";
import type { Shop } from "../shops/index.js";
import type { CheckoutPointsTable } from "./tables.js";

/**
 * Points at checkout: a shopper puts some of their points toward a cart and gets money off it.
 * The points are a ledger reservation held for the cart (they leave the available balance at
 * once), spent when the order is paid, and given back when the shopper takes them off or the hold
 * runs out. What they are worth is the shop's redemption rate, in the cart's currency.
 */

/** How long points stay held for a cart unless the caller says otherwise: a checkout, not a day. */
export const defaultHoldSeconds = 30 * 60;
export const maxHoldSeconds = 24 * 60 * 60;

export interface CheckoutPoints {
  cartId: string;
  memberId: string;
  /**
   * The hold's status, except that points spent on an order are `committed` however they were
   * spent (from the hold, or from the balance after the hold ran out).
   */
  status: Reservation["status"];
  points: number;
  discount: { amount: number; currency: string };
  orderId: string | null;
  reservation: Reservation;
  createdAt: string;
  updatedAt: string;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The smallest number of points worth a whole minor unit at the shop's rate: 100 points = $1.00
 * (100 cents) makes it 1; 100 points = ¥1 makes it 100; 3 points = 2 cents makes it 3. Points are
 * spent in multiples of it, so none is spent for a fraction of a cent nobody receives.
 */
export function pointsStep(rate: { points: number; amount: number }): number {
  return rate.points / gcd(rate.points, rate.amount);
}

/** What `points` are worth at the shop's rate, in the cart's currency (rounded down). */
async function discountFor(
  db: Kysely<Database>,
  shop: Shop,
  points: number,
  currency: string,
): Promise<{ amount: number; currency: string }> {
  const rate = shop.redemptionRate;
  const step = pointsStep(rate);
  if (points % step !== 0) {
    throw invalidField(
      "/body/points",
      `must be a multiple of ${step}: at the shop's rate (${rate.points} points = ${rate.amount} ${shop.baseCurrency} minor units) fewer points are not worth a whole minor unit`,
    );
  }
  const inShopCurrency = Number((BigInt(points) * BigInt(rate.amount)) / BigInt(rate.points));
  const converted = await convertFromShopCurrency(db, shop.id, shop.baseCurrency, inShopCurrency, currency);
  if (converted === null) {
    throw invalidField(
      "/body/cart/currency",
      `the shop has no exchange rate for ${currency}: add one at /v1/exchange-rates, or use ${shop.baseCurrency}`,
    );
  }
  return { amount: converted.amount, currency };
}

function toCheckoutPoints(row: CheckoutPointsTable, reservation: Reservation): CheckoutPoints {
  return {
    cartId: row.cart_id,
    memberId: row.member_id,
    status: row.order_id !== null ? "committed" : reservation.status,
    points: Number(row.points),
    discount: { amount: Number(row.discount), currency: row.currency },
    orderId: row.order_id,
    reservation,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

async function findRow(db: Kysely<Database>, shopId: string, cartId: string): Promise<CheckoutPointsTable | undefined> {
  return db
    .selectFrom("checkout_points")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("cart_id", "=", cartId)
    .executeTakeFirst();
}

/** Points spent on an order stay with it: the cart cannot hold or drop points any more. */
function spentOn(row: CheckoutPointsTable): AppError {
  return new AppError(
    "reservation_not_active",
    `The points on cart ${row.cart_id} were spent on order ${row.order_id}`,
  );
}

function notFound(cartId: string): AppError {
  return new AppError("checkout_points_not_found", `No points were put on cart ${cartId}`);
}

export interface ApplyInput {
  shop: Shop;
  cartId: string;
  memberId: string;
  points: number;
  cart: { total: number; currency: string };
  holdSeconds?: number | undefined;
  actor: Actor;
}

/**
 * Puts points on a cart, or changes how many: the hold already there is released and a new one
 * made, in one transaction. The same points again keep the hold as it is (a retried request or a
 * page reload). The points must be the member's to spend and worth no more than the cart total.
 */
export async function applyCheckoutPoints(
  trx: Tx,
  input: ApplyInput,
  now: Date,
): Promise<CheckoutPoints & { replayed: boolean }> {
  const { shop, cartId, memberId } = input;
  const member = await getMember(trx, shop.id, memberId);
  if (member.status !== "active") {
    throw new AppError("reward_unavailable", `The member is ${member.status}: only active members spend points`);
  }
  const discount = await discountFor(trx, shop, input.points, input.cart.currency);
  if (discount.amount > input.cart.total) {
    throw invalidField(
      "/body/points",
      `${input.points} points are worth ${discount.amount} ${discount.currency} minor units, more than the cart total of ${input.cart.total}`,
    );
  }
  await lockMemberAccount(trx, shop.id, memberId);
  const existing = await findRow(trx, shop.id, cartId);
  if (existing) {
    if (existing.order_id !== null) throw spentOn(existing);
    const reservation = await readReservation(trx, shop.id, existing.reservation_id, now);
    if (existing.member_id !== memberId && reservation.status !== "expired" && reservation.status !== "released") {
      throw new AppError("cart_taken", `Cart ${cartId} holds points of another member`);
    }
    if (reservation.status === "active") {
      if (Number(existing.points) === input.points && existing.currency === discount.currency) {
        return { ...toCheckoutPoints(existing, reservation), replayed: true };
      }
      await releaseReservation(
        trx,
        { shopId: shop.id, reservationId: reservation.id, reason: "Points on the cart changed", actor: input.actor },
        now,
      );
    }
  }
  const holdSeconds = input.holdSeconds ?? defaultHoldSeconds;
  const { reservation } = await reservePoints(
    trx,
    {
      shopId: shop.id,
      memberId,
      amount: input.points,
      expiresAt: new Date(now.getTime() + holdSeconds * 1000).toISOString(),
      reference: `cart:${cartId}`,
      reason: "Points at checkout",
      metadata: { cart_id: cartId, discount },
      actor: input.actor,
    },
    now,
  );
  const at = now.toISOString();
  const row: CheckoutPointsTable = {
    shop_id: shop.id,
    cart_id: cartId,
    member_id: memberId,
    reservation_id: reservation.id,
    points: input.points,
    currency: discount.currency,
    discount: discount.amount,
    order_id: null,
    spend_transaction_id: null,
    created_at: existing?.created_at ?? at,
    updated_at: at,
  };
  if (existing) {
    await trx
      .updateTable("checkout_points")
      .set({ ...row, shop_id: undefined, cart_id: undefined })
      .where("shop_id", "=", shop.id)
      .where("cart_id", "=", cartId)
      .execute();
  } else {
    await trx.insertInto("checkout_points").values(row).execute();
  }
  return { ...toCheckoutPoints(row, reservation), replayed: false };
}

export async function getCheckoutPoints(
  database: DatabaseHandle,
  shopId: string,
  cartId: string,
  now: Date,
): Promise<CheckoutPoints> {
  const row = await findRow(database.db, shopId, cartId);
  if (!row) throw notFound(cartId);
  return toCheckoutPoints(row, await getReservation(database, shopId, row.reservation_id, now));
}

/** Takes the points off a cart (the shopper changed their mind, or left): they are available again. */
export async function removeCheckoutPoints(
  trx: Tx,
  input: { shopId: string; cartId: string; actor: Actor },
  now: Date,
): Promise<CheckoutPoints> {
  const row = await findRow(trx, input.shopId, input.cartId);
  if (!row) throw notFound(input.cartId);
  if (row.order_id !== null) throw spentOn(row);
  await lockMemberAccount(trx, input.shopId, row.member_id);
  const current = await readReservation(trx, input.shopId, row.reservation_id, now);
  if (current.status !== "active") return toCheckoutPoints(row, current);
  const { reservation } = await releaseReservation(
    trx,
    {
      shopId: input.shopId,
      reservationId: row.reservation_id,
      reason: "Points taken off the cart",
      actor: input.actor,
    },
    now,
  );
  return toCheckoutPoints(row, reservation);
}

export interface CommitOutcome {
  checkout: CheckoutPoints;
  replayed: boolean;
  /** What happened, for an event's explanation: spent from the hold, spent again after it ran out. */
  note: string;
}

/**
 * Spends the points held for a cart on its order. Paying the same order again answers as the first
 * time. When the hold ran out before payment (a slow checkout) the discount was still given, so the
 * points are spent from the available balance if the member still has them; if not, 422.
 */
export async function commitCheckoutPoints(
  trx: Tx,
  input: { shopId: string; cartId: string; orderId: string; actor: Actor },
  now: Date,
): Promise<CommitOutcome> {
  const row = await findRow(trx, input.shopId, input.cartId);
  if (!row) throw notFound(input.cartId);
  await lockMemberAccount(trx, input.shopId, row.member_id);
  const current = await readReservation(trx, input.shopId, row.reservation_id, now);
  if (row.order_id !== null) {
    if (row.order_id !== input.orderId) throw spentOn(row);
    return { checkout: toCheckoutPoints(row, current), replayed: true, note: "already spent on this order" };
  }
  const at = now.toISOString();
  const details = {
    reason: `Points at checkout, order ${input.orderId}`,
    reference: input.orderId,
    metadata: { cart_id: input.cartId, order_id: input.orderId },
    actor: input.actor,
  };
  let reservation = current;
  let note: string;
  let spent: string;
  if (current.status === "active") {
    const committed = await commitReservation(
      trx,
      { shopId: input.shopId, reservationId: current.id, ...details },
      now,
    );
    reservation = committed.reservation;
    spent = committed.transaction.id;
    note = `${row.points} points held for cart ${input.cartId} spent on order ${input.orderId}`;
  } else {
    // The hold was released or ran out, but the order got the discount: spend the points now.
    const debited = await debitPoints(
      trx,
      { shopId: input.shopId, memberId: row.member_id, type: "redeem", amount: Number(row.points), ...details },
      now,
    );
    spent = debited.transaction.id;
    note = `the hold on cart ${input.cartId} had ${current.status === "expired" ? "run out" : "been released"}; ${row.points} points spent from the available balance`;
  }
  await trx
    .updateTable("checkout_points")
    .set({ order_id: input.orderId, spend_transaction_id: spent, updated_at: at })
    .where("shop_id", "=", input.shopId)
    .where("cart_id", "=", input.cartId)
    .execute();
  return {
    checkout: toCheckoutPoints(
      { ...row, order_id: input.orderId, spend_transaction_id: spent, updated_at: at },
      reservation,
    ),
    replayed: false,
    note,
  };
}
