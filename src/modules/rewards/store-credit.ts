import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError, invalidField } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { lockMemberAccount } from "../ledger/index.js";
import { getMember } from "../members/index.js";
import type { Money } from "../rules/index.js";
import type { StoreCreditEntriesTable } from "./tables.js";

/**
 * Store credit: money a member holds with the shop, per currency, from store-credit rewards. Every
 * change is an entry; the balance row is their running sum. Changes happen under the member's
 * account lock (the caller's), so two at once cannot both spend the same credit.
 */

export interface StoreCreditChange {
  shopId: string;
  memberId: string;
  /** Positive adds credit, negative takes it. */
  amount: Money;
  redemptionId?: string | null | undefined;
  orderId?: string | null | undefined;
  reason: string;
}

/** Applies a change and returns the new balance; taking more than the balance holds is refused. */
export async function changeStoreCredit(
  trx: Tx,
  input: StoreCreditChange,
  now: Date,
  refusal: (balance: number) => AppError = (balance) =>
    new AppError(
      "redemption_not_cancellable",
      `The member's store credit (${balance} ${input.amount.currency} minor units) no longer holds it`,
    ),
): Promise<number> {
  const at = now.toISOString();
  const { shopId, memberId, amount } = input;
  const current = await trx
    .selectFrom("store_credit_balances")
    .select("balance")
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .where("currency", "=", amount.currency)
    .executeTakeFirst();
  const before = Number(current?.balance ?? 0);
  const balance = before + amount.amount;
  if (balance < 0) throw refusal(before);
  await trx
    .insertInto("store_credit_balances")
    .values({ shop_id: shopId, member_id: memberId, currency: amount.currency, balance, updated_at: at })
    .onConflict((conflict) =>
      conflict.columns(["shop_id", "member_id", "currency"]).doUpdateSet({ balance, updated_at: at }),
    )
    .execute();
  await trx
    .insertInto("store_credit_entries")
    .values({
      shop_id: shopId,
      id: newId("storeCredit", now),
      member_id: memberId,
      currency: amount.currency,
      amount: amount.amount,
      redemption_id: input.redemptionId ?? null,
      order_id: input.orderId ?? null,
      reason: input.reason,
      created_at: at,
    })
    .execute();
  return balance;
}

export interface StoreCredit {
  balances: Money[];
  entries: StoreCreditEntriesTable[];
}

/** A member's balances (currencies with credit, or that had it) and their latest entries. */
export async function getStoreCredit(
  db: Kysely<Database>,
  shopId: string,
  memberId: string,
  page: { limit: number; before?: string | undefined },
): Promise<StoreCredit> {
  await getMember(db, shopId, memberId);
  const balances = await db
    .selectFrom("store_credit_balances")
    .select(["currency", "balance"])
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId)
    .orderBy("currency")
    .execute();
  let entries = db
    .selectFrom("store_credit_entries")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("member_id", "=", memberId);
  if (page.before) entries = entries.where("id", "<", page.before);
  return {
    balances: balances.map((row) => ({ amount: Number(row.balance), currency: row.currency })),
    entries: await entries.orderBy("id", "desc").limit(page.limit).execute(),
  };
}

/**
 * Spends store credit on an order, once per order and currency: the same order again answers with
 * the first spend (a retry); a different amount for it is 409. More than the balance is 422.
 */
export async function spendStoreCredit(
  trx: Tx,
  input: { shopId: string; memberId: string; amount: Money; orderId: string },
  now: Date,
): Promise<{ entry: StoreCreditEntriesTable; balance: number; replayed: boolean }> {
  await getMember(trx, input.shopId, input.memberId);
  await lockMemberAccount(trx, input.shopId, input.memberId);
  const spentOnOrder = () =>
    trx
      .selectFrom("store_credit_entries")
      .selectAll()
      .where("shop_id", "=", input.shopId)
      .where("member_id", "=", input.memberId)
      .where("order_id", "=", input.orderId)
      .where("currency", "=", input.amount.currency)
      .executeTakeFirst();
  const earlier = await spentOnOrder();
  const balanceOf = async () =>
    Number(
      (
        await trx
          .selectFrom("store_credit_balances")
          .select("balance")
          .where("shop_id", "=", input.shopId)
          .where("member_id", "=", input.memberId)
          .where("currency", "=", input.amount.currency)
          .executeTakeFirst()
      )?.balance ?? 0,
    );
  if (earlier) {
    if (Number(earlier.amount) !== -input.amount.amount) {
      throw new AppError(
        "store_credit_conflict",
        `Order ${input.orderId} already spent ${-Number(earlier.amount)} ${earlier.currency} minor units of store credit`,
      );
    }
    return { entry: earlier, balance: await balanceOf(), replayed: true };
  }
  const balance = await changeStoreCredit(
    trx,
    {
      shopId: input.shopId,
      memberId: input.memberId,
      amount: { amount: -input.amount.amount, currency: input.amount.currency },
      orderId: input.orderId,
      reason: `Spent on order ${input.orderId}`,
    },
    now,
    (held) =>
      invalidField("/body/amount", `exceeds the member's store credit of ${held} ${input.amount.currency} minor units`),
  );
  const entry = (await spentOnOrder()) as StoreCreditEntriesTable;
  return { entry, balance, replayed: false };
}

export function toStoreCreditEntryJson(entry: StoreCreditEntriesTable) {
  return {
    id: entry.id,
    object: "store_credit_entry" as const,
    amount: { amount: Number(entry.amount), currency: entry.currency },
    redemption_id: entry.redemption_id,
    order_id: entry.order_id,
    reason: entry.reason,
    created_at: entry.created_at,
  };
}
