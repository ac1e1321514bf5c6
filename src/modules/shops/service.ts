import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { DatabaseHandle } from "../../platform/db/database.js";
import type { Database } from "../../platform/db/schema.js";
import { type Tx, withTransaction } from "../../platform/db/transaction.js";
import { AppError, type FieldError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import { canonicalLocale, isCountryCode, isCurrencyCode, isTimeZone } from "../../platform/intl.js";
import { type CreatedApiKey, createApiKey } from "../keys/index.js";
import type { Shop } from "./repository.js";
import * as repository from "./repository.js";

export type { Shop };

export interface ShopSettingsInput {
  name?: string | undefined;
  baseCurrency?: string | undefined;
  timezone?: string | undefined;
  defaultLocale?: string | undefined;
  /** Null returns to the currency's default. */
  redemptionRate?: { points: number; amount: number } | null | undefined;
  enrollmentMode?: "auto" | "opt_in" | undefined;
  /** ISO 3166-1 alpha-2 for reading local phone numbers; null: only international numbers. */
  defaultCountry?: string | null | undefined;
  /** Show a member who owes points a balance below zero (true) or 0 and the debt apart (false). */
  allowNegativeBalance?: boolean | undefined;
  /** What happens to points spent on an order that is cancelled or wholly refunded. */
  redeemedPointsOnRefund?: "keep" | "return" | undefined;
}

/** Checks what JSON Schema cannot: that codes name a real currency, time zone and locale. */
function checkSettings(input: ShopSettingsInput): { defaultLocale?: string } {
  const errors: FieldError[] = [];
  if (input.name !== undefined && input.name.trim() === "") {
    errors.push({ pointer: "/body/name", message: "must not be blank" });
  }
  if (input.baseCurrency !== undefined && !isCurrencyCode(input.baseCurrency)) {
    errors.push({
      pointer: "/body/base_currency",
      message: `"${input.baseCurrency}" is not an ISO 4217 currency code`,
    });
  }
  if (input.timezone !== undefined && !isTimeZone(input.timezone)) {
    errors.push({ pointer: "/body/timezone", message: `"${input.timezone}" is not an IANA time zone` });
  }
  const locale = input.defaultLocale === undefined ? undefined : canonicalLocale(input.defaultLocale);
  if (input.defaultLocale !== undefined && locale === undefined) {
    errors.push({ pointer: "/body/default_locale", message: `"${input.defaultLocale}" is not a BCP 47 language tag` });
  }
  if (input.defaultCountry !== undefined && input.defaultCountry !== null && !isCountryCode(input.defaultCountry)) {
    errors.push({
      pointer: "/body/default_country",
      message: `"${input.defaultCountry}" is not an ISO 3166-1 alpha-2 country code`,
    });
  }
  if (errors.length > 0) {
    throw new AppError("invalid_field_value", errors.map((error) => error.message).join("; "), { errors });
  }
  return locale === undefined ? {} : { defaultLocale: locale };
}

export interface NewShop {
  name: string;
  baseCurrency: string;
  timezone?: string | undefined;
  defaultLocale?: string | undefined;
  enrollmentMode?: "auto" | "opt_in" | undefined;
  defaultCountry?: string | null | undefined;
  /** Default false: a member who owes points is shown a balance of 0 and the debt apart. */
  allowNegativeBalance?: boolean | undefined;
  /** Default keep: points spent on an order stay spent when it is refunded. */
  redeemedPointsOnRefund?: "keep" | "return" | undefined;
}

/** 32 random bytes as hex: the key storefront customer tokens are signed with. */
function newCustomerTokenSecret(): string {
  return randomBytes(32).toString("hex");
}

/**
 * The key that signs the shop's storefront customer tokens. Shops made before tokens existed get
 * one on first use; the conditional update keeps two first uses from making two different keys.
 */
export async function getCustomerTokenSecret(db: Kysely<Database>, shopId: string): Promise<string> {
  const row = await repository.findShop(db, shopId);
  if (!row) throw new AppError("shop_not_found", `No shop ${shopId}`);
  if (row.customer_token_secret) return row.customer_token_secret;
  await repository.setCustomerTokenSecretIfMissing(db, shopId, newCustomerTokenSecret());
  const reread = await repository.findShop(db, shopId);
  if (!reread?.customer_token_secret) throw new Error(`shop ${shopId} has no customer token secret`);
  return reread.customer_token_secret;
}

/** Replaces the signing key: every customer token issued before stops working at once. */
export async function rotateCustomerTokenSecret(trx: Tx, shopId: string, now: Date): Promise<string> {
  await getShop(trx, shopId);
  const secret = newCustomerTokenSecret();
  await repository.updateShop(trx, shopId, { customer_token_secret: secret, updated_at: now.toISOString() });
  return secret;
}

export async function createShop(trx: Tx, input: NewShop, now: Date): Promise<Shop> {
  const checked = checkSettings(input);
  const timestamp = now.toISOString();
  const row = {
    id: newId("shop", now),
    name: input.name.trim(),
    base_currency: input.baseCurrency,
    timezone: input.timezone ?? "UTC",
    default_locale: checked.defaultLocale ?? "en",
    redemption_rate_points: null,
    redemption_rate_amount: null,
    enrollment_mode: input.enrollmentMode ?? "auto",
    default_country: input.defaultCountry ?? null,
    customer_token_secret: newCustomerTokenSecret(),
    allow_negative_balance: input.allowNegativeBalance ? 1 : 0,
    redeemed_points_on_refund: input.redeemedPointsOnRefund ?? "keep",
    created_at: timestamp,
    updated_at: timestamp,
  };
  await repository.insertShop(trx, row);
  return repository.toShop(row);
}

export interface ShopWithKeys {
  shop: Shop;
  secretKey: CreatedApiKey;
  publishableKey: CreatedApiKey;
}

/** A new shop with one secret and one publishable key, as the CLI and first start create it. */
export async function createShopWithKeys(trx: Tx, input: NewShop, now: Date): Promise<ShopWithKeys> {
  const shop = await createShop(trx, input, now);
  const secretKey = await createApiKey(trx, { shopId: shop.id, kind: "secret", name: "Default secret key" }, now);
  const publishableKey = await createApiKey(
    trx,
    { shopId: shop.id, kind: "publishable", name: "Default publishable key" },
    now,
  );
  return { shop, secretKey, publishableKey };
}

export async function getShop(db: Kysely<Database>, shopId: string): Promise<Shop> {
  const row = await repository.findShop(db, shopId);
  if (!row) throw new AppError("shop_not_found", `No shop ${shopId}`);
  return repository.toShop(row);
}

export async function listShops(db: Kysely<Database>): Promise<Shop[]> {
  return (await repository.listShops(db)).map(repository.toShop);
}

export async function updateShop(trx: Tx, shopId: string, input: ShopSettingsInput, now: Date): Promise<Shop> {
  const checked = checkSettings(input);
  const current = await getShop(trx, shopId);
  // A rate is in minor units of the base currency, so a new currency without a new rate returns
  // to that currency's default rather than keeping numbers that meant another money.
  const currencyChanges = input.baseCurrency !== undefined && input.baseCurrency !== current.baseCurrency;
  const rate = input.redemptionRate !== undefined ? input.redemptionRate : currencyChanges ? null : undefined;
  await repository.updateShop(trx, shopId, {
    ...(rate === undefined
      ? {}
      : { redemption_rate_points: rate?.points ?? null, redemption_rate_amount: rate?.amount ?? null }),
    ...(input.name === undefined ? {} : { name: input.name.trim() }),
    ...(input.baseCurrency === undefined ? {} : { base_currency: input.baseCurrency }),
    ...(input.timezone === undefined ? {} : { timezone: input.timezone }),
    ...(checked.defaultLocale === undefined ? {} : { default_locale: checked.defaultLocale }),
    ...(input.enrollmentMode === undefined ? {} : { enrollment_mode: input.enrollmentMode }),
    ...(input.defaultCountry === undefined ? {} : { default_country: input.defaultCountry }),
    ...(input.allowNegativeBalance === undefined ? {} : { allow_negative_balance: input.allowNegativeBalance ? 1 : 0 }),
    ...(input.redeemedPointsOnRefund === undefined ? {} : { redeemed_points_on_refund: input.redeemedPointsOnRefund }),
    updated_at: now.toISOString(),
  });
  return getShop(trx, shopId);
}

/**
 * On a database with no shop at all, creates "Demo Shop" with its keys so a first `npm start`
 * has something to call. Returns undefined when any shop exists (the demo is made once).
 */
export async function createDemoShopIfEmpty(database: DatabaseHandle, now: Date): Promise<ShopWithKeys | undefined> {
  return withTransaction(database, async (trx) => {
    if ((await repository.countShops(trx)) > 0) return undefined;
    return createShopWithKeys(
      trx,
      { name: "Demo Shop", baseCurrency: "USD", timezone: "UTC", defaultLocale: "en" },
      now,
    );
  });
}
