import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import { currencyMinorUnits } from "../../platform/intl.js";
import type { ShopsTable } from "./tables.js";

/** What points are worth when redeemed: `points` points = `amount` minor units of the base currency. */
export interface RedemptionRate {
  points: number;
  amount: number;
  /** True when the shop has not set a rate and the currency's default applies. */
  isDefault: boolean;
}

export interface Shop {
  id: string;
  name: string;
  baseCurrency: string;
  timezone: string;
  defaultLocale: string;
  redemptionRate: RedemptionRate;
  enrollmentMode: ShopsTable["enrollment_mode"];
  defaultCountry: string | null;
  /**
   * Points a member owes (debt: a refund took back points already spent) are shown as a balance
   * below zero when true; when false the balance shows 0 and the debt separately.
   */
  allowNegativeBalance: boolean;
  /** Points spent on an order (a reward code, points at checkout) when it is cancelled or wholly refunded. */
  redeemedPointsOnRefund: ShopsTable["redeemed_points_on_refund"];
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
    redemptionRate: redemptionRateOf(row),
    enrollmentMode: row.enrollment_mode,
    defaultCountry: row.default_country,
    allowNegativeBalance: row.allow_negative_balance === 1,
    redeemedPointsOnRefund: row.redeemed_points_on_refund,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The shop's rate, or the default: 100 points = 1 unit of a currency with minor units (USD 1.00),
 * 1 point = 1 unit of a currency without (JPY 1), the usual conventions in those markets.
 */
function redemptionRateOf(row: ShopsTable): RedemptionRate {
  if (row.redemption_rate_points !== null && row.redemption_rate_amount !== null) {
    return { points: row.redemption_rate_points, amount: row.redemption_rate_amount, isDefault: false };
  }
  const minorUnits = currencyMinorUnits(row.base_currency);
  return minorUnits === 0
    ? { points: 1, amount: 1, isDefault: true }
    : { points: 100, amount: 10 ** minorUnits, isDefault: true };
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

export async function setCustomerTokenSecretIfMissing(
  db: Kysely<Database>,
  shopId: string,
  secret: string,
): Promise<void> {
  await db
    .updateTable("shops")
    .set({ customer_token_secret: secret })
    .where("id", "=", shopId)
    .where("customer_token_secret", "is", null)
    .execute();
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
  changes: Partial<
    Pick<
      ShopsTable,
      | "name"
      | "base_currency"
      | "timezone"
      | "default_locale"
      | "redemption_rate_points"
      | "redemption_rate_amount"
      | "enrollment_mode"
      | "default_country"
      | "allow_negative_balance"
      | "customer_token_secret"
    >
  > & { updated_at: string },
): Promise<void> {
  await db.updateTable("shops").set(changes).where("id", "=", shopId).execute();
}
