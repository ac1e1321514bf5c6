import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { ExchangeRatesTable } from "./tables.js";

type Db = Kysely<Database>;

export interface ExchangeRate {
  /** ISO 4217 code of the foreign currency. */
  currency: string;
  /** Normalized decimal string: one unit of `currency` is worth this many units of the shop currency. */
  rate: string;
  createdAt: string;
  updatedAt: string;
}

export function toExchangeRate(row: ExchangeRatesTable): ExchangeRate {
  return { currency: row.currency, rate: row.rate, createdAt: row.created_at, updatedAt: row.updated_at };
}

export async function listRates(db: Db, shopId: string): Promise<ExchangeRatesTable[]> {
  return db.selectFrom("exchange_rates").selectAll().where("shop_id", "=", shopId).orderBy("currency").execute();
}

export async function findRate(db: Db, shopId: string, currency: string): Promise<ExchangeRatesTable | undefined> {
  return db
    .selectFrom("exchange_rates")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("currency", "=", currency)
    .executeTakeFirst();
}

/** Inserts the row unless the shop already has a rate for the currency; returns it when inserted. */
export async function insertRateIfAbsent(db: Db, row: ExchangeRatesTable): Promise<ExchangeRatesTable | undefined> {
  return db
    .insertInto("exchange_rates")
    .values(row)
    .onConflict((conflict) => conflict.columns(["shop_id", "currency"]).doNothing())
    .returningAll()
    .executeTakeFirst();
}

/**
 * Reads the current row and holds its lock until the transaction ends (the no-op update is the
 * write that takes the row lock on PostgreSQL; on SQLite the transaction already holds the writer),
 * so the rate replaced and reported as `previous_rate` is the one actually overwritten.
 */
export async function lockRate(db: Db, shopId: string, currency: string): Promise<ExchangeRatesTable | undefined> {
  return db
    .updateTable("exchange_rates")
    .set((eb) => ({ updated_at: eb.ref("updated_at") }))
    .where("shop_id", "=", shopId)
    .where("currency", "=", currency)
    .returningAll()
    .executeTakeFirst();
}

export async function updateRate(
  db: Db,
  shopId: string,
  currency: string,
  changes: { rate: string; updated_at: string },
): Promise<void> {
  await db
    .updateTable("exchange_rates")
    .set(changes)
    .where("shop_id", "=", shopId)
    .where("currency", "=", currency)
    .execute();
}

/** Deletes the rate; returns the row deleted, or undefined when there was none. */
export async function deleteRate(db: Db, shopId: string, currency: string): Promise<ExchangeRatesTable | undefined> {
  return db
    .deleteFrom("exchange_rates")
    .where("shop_id", "=", shopId)
    .where("currency", "=", currency)
    .returningAll()
    .executeTakeFirst();
}
