import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { ShopsTable } from "./tables.js";

export interface Shop {
  id: string;
  name: string;
  baseCurrency: string;
  timezone: string;
  defaultLocale: string;
  createdAt: string;
  updatedAt: string;
}

export function toShop(row: ShopsTable): Shop {
  return {
    id: row.id,
    name: row.name,
    baseCurrency: row.base_currency,
    timezone: row.timezone,
    defaultLocale: row.default_locale,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertShop(db: Kysely<Database>, row: ShopsTable): Promise<void> {
  await db.insertInto("shops").values(row).execute();
}

export async function findShop(db: Kysely<Database>, shopId: string): Promise<ShopsTable | undefined> {
  return db.selectFrom("shops").selectAll().where("id", "=", shopId).executeTakeFirst();
}

export async function listShops(db: Kysely<Database>): Promise<ShopsTable[]> {
  return db.selectFrom("shops").selectAll().orderBy("id").execute();
}

export async function countShops(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("shops")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function updateShop(
  db: Kysely<Database>,
  shopId: string,
  changes: Partial<Pick<ShopsTable, "name" | "base_currency" | "timezone" | "default_locale">> & { updated_at: string },
): Promise<void> {
  await db.updateTable("shops").set(changes).where("id", "=", shopId).execute();
}
