import type { Kysely } from "kysely";
import { getMember } from "../../modules/members/index.js";
import type { IssuedReward } from "../../modules/rewards/codes.js";
import { getRedemption } from "../../modules/rewards/index.js";
import { getShop } from "../../modules/shops/index.js";
import type { Config } from "../../platform/config.js";
import type { DatabaseHandle } from "../../platform/db/database.js";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import type { PlatformDiscountsTable } from "../tables.js";
import {
  createShopifyDiscount,
  deleteShopifyDiscount,
  type ShopifyAdminClientOptions,
  ShopifyApiError,
} from "./discounts.js";

/**
 * Redemption codes as Shopify discounts, when the shop turned it on
 * (PUT /v1/integrations/shopify/discount-codes). A redemption queues a `platform_discounts` row in
 * its own transaction, so none is lost; it is sent right after the redemption commits, so the
 * shopper's code works at Shopify's checkout at once, and sent again by the sweep when Shopify
 * could not be reached. A cancelled redemption's discount is deleted the same way.
 */

export interface ShopifyApiSettings {
  apiVersion: string;
  /** Instead of https://{shop domain}: a proxy, or a test server. */
  origin: string | null;
  fetch?: typeof fetch | undefined;
  timeoutMs?: number | undefined;
}

export function shopifySettingsOf(config: Config): ShopifyApiSettings {
  return { apiVersion: config.shopifyApiVersion, origin: config.shopifyAdminOrigin };
}

/** Attempts before a discount Shopify keeps refusing with a retryable answer is marked failed. */
export const maxAttempts = 8;
const minute = 60 * 1000;
/** While a send is under way its row is leased this long, so a crashed process's row is retried. */
const leaseMs = 5 * minute;

/** 1, 2, 4, … 64 minutes: long enough for an outage to end, short enough for a shopper to retry. */
function backoffMs(attempts: number): number {
  return 2 ** Math.min(attempts - 1, 6) * minute;
}

interface DiscountConnection {
  account: string;
  admin_access_token: string | null;
  sync_discount_codes: number;
}

async function findConnection(db: Kysely<Database>, shopId: string): Promise<DiscountConnection | undefined> {
  return db
    .selectFrom("shop_integrations")
    .select(["account", "admin_access_token", "sync_discount_codes"])
    .where("shop_id", "=", shopId)
    .where("platform", "=", "shopify")
    .executeTakeFirst();
}

export interface DiscountCodeSettings {
  enabled: boolean;
  accessTokenSet: boolean;
}

/**
 * Turns redemption codes as Shopify discounts on or off. Turning them on needs the Admin API
 * access token, given now or earlier; a token given with `enabled: false` is stored for later.
 */
export async function setDiscountCodeSettings(
  trx: Tx,
  input: { shopId: string; enabled: boolean; accessToken?: string | undefined },
  now: Date,
): Promise<DiscountCodeSettings> {
  const connection = await findConnection(trx, input.shopId);
  if (!connection) {
    throw new AppError("integration_not_found", "Connect the Shopify store first (PUT /v1/integrations/shopify)");
  }
  const token = input.accessToken?.trim() || connection.admin_access_token;
  if (input.enabled && !token) {
    throw new AppError("invalid_field_value", "An Admin API access token is needed to create discount codes", {
      errors: [{ pointer: "/body/admin_access_token", message: "is required to turn discount codes on" }],
    });
  }
  await trx
    .updateTable("shop_integrations")
    .set({ admin_access_token: token, sync_discount_codes: input.enabled ? 1 : 0, updated_at: now.toISOString() })
    .where("shop_id", "=", input.shopId)
    .where("platform", "=", "shopify")
    .execute();
  return { enabled: input.enabled, accessTokenSet: token !== null };
}

export async function getDiscountCodeSettings(db: Kysely<Database>, shopId: string): Promise<DiscountCodeSettings> {
  const connection = await findConnection(db, shopId);
  if (!connection) throw new AppError("integration_not_found", "The shop has no Shopify store connected");
  return { enabled: connection.sync_discount_codes === 1, accessTokenSet: connection.admin_access_token !== null };
}

/**
 * In the redemption's transaction: queues its code for Shopify when the shop sends codes there.
 * Returns whether it did. Store credit has no code and is never queued.
 */
export async function queueShopifyDiscount(
  trx: Tx,
  redemption: { shop_id: string; id: string; code: string | null },
  now: Date,
): Promise<boolean> {
  if (redemption.code === null) return false;
  const connection = await findConnection(trx, redemption.shop_id);
  if (connection?.sync_discount_codes !== 1 || connection.admin_access_token === null) return false;
  const at = now.toISOString();
  await trx
    .insertInto("platform_discounts")
    .values({
      shop_id: redemption.shop_id,
      redemption_id: redemption.id,
      platform: "shopify",
      status: "pending",
      price_rule_id: null,
      discount_code_id: null,
      attempts: 0,
      last_error: null,
      next_attempt_at: at,
      created_at: at,
      updated_at: at,
    })
    .execute();
  return true;
}

/**
 * In the cancellation's transaction: a discount not sent yet is dropped; one Shopify has is marked
 * for deletion (sent after commit, retried by the sweep). Returns whether anything is to be sent.
 */
export async function withdrawShopifyDiscount(
  trx: Tx,
  shopId: string,
  redemptionId: string,
  now: Date,
): Promise<boolean> {
  const row = await findDiscount(trx, shopId, redemptionId);
  if (!row) return false;
  const at = now.toISOString();
  const status = row.status === "created" ? "deleting" : row.status === "pending" ? "deleted" : row.status;
  if (status === row.status) return false;
  await trx
    .updateTable("platform_discounts")
    .set({ status, attempts: 0, next_attempt_at: status === "deleting" ? at : null, updated_at: at })
    .where("shop_id", "=", shopId)
    .where("redemption_id", "=", redemptionId)
    .where("platform", "=", "shopify")
    .execute();
  return status === "deleting";
}

export async function findDiscount(
  db: Kysely<Database>,
  shopId: string,
  redemptionId: string,
): Promise<PlatformDiscountsTable | undefined> {
  return db
    .selectFrom("platform_discounts")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("redemption_id", "=", redemptionId)
    .where("platform", "=", "shopify")
    .executeTakeFirst();
}

/**
 * Claims a due row for one attempt: the conditional update succeeds for one process only, and the
 * lease makes the row due again if that process dies before it records the outcome.
 */
async function claim(database: DatabaseHandle, row: PlatformDiscountsTable, now: Date): Promise<boolean> {
  const claimed = await database.db
    .updateTable("platform_discounts")
    .set({
      attempts: row.attempts + 1,
      next_attempt_at: new Date(now.getTime() + leaseMs).toISOString(),
      updated_at: now.toISOString(),
    })
    .where("shop_id", "=", row.shop_id)
    .where("redemption_id", "=", row.redemption_id)
    .where("platform", "=", "shopify")
    .where("status", "=", row.status)
    .where("attempts", "=", row.attempts)
    .returning("redemption_id")
    .execute();
  return claimed.length === 1;
}

async function record(
  database: DatabaseHandle,
  row: PlatformDiscountsTable,
  changes: Partial<PlatformDiscountsTable>,
  now: Date,
): Promise<void> {
  await database.db
    .updateTable("platform_discounts")
    .set({ ...changes, updated_at: now.toISOString() })
    .where("shop_id", "=", row.shop_id)
    .where("redemption_id", "=", row.redemption_id)
    .where("platform", "=", "shopify")
    .execute();
}

interface DiscountSubject {
  code: string;
  issued: IssuedReward;
  created_at: string;
  code_expires_at: string | null;
  customerId: string | null;
  currency: string;
  account: string;
  token: string;
}

/** What the discount is made from, read through the modules that own it; null when the connection or token is gone. */
async function subjectOf(database: DatabaseHandle, row: PlatformDiscountsTable): Promise<DiscountSubject | null> {
  const db = database.db;
  const connection = await findConnection(db, row.shop_id);
  if (!connection || connection.admin_access_token === null) return null;
  const redemption = await getRedemption(db, row.shop_id, row.redemption_id);
  if (redemption.code === null) return null;
  const member = await getMember(db, row.shop_id, redemption.member_id);
  return {
    code: redemption.code,
    issued: JSON.parse(redemption.reward) as IssuedReward,
    created_at: redemption.created_at,
    code_expires_at: redemption.code_expires_at,
    customerId: member.identifiers.find((identifier) => identifier.kind === "shopify")?.value ?? null,
    currency: (await getShop(db, row.shop_id)).baseCurrency,
    account: connection.account,
    token: connection.admin_access_token,
  };
}

function clientOptions(settings: ShopifyApiSettings, subject: { account: string; token: string }) {
  const options: ShopifyAdminClientOptions = {
    domain: subject.account,
    accessToken: subject.token,
    apiVersion: settings.apiVersion,
  };
  if (settings.origin !== null) options.origin = settings.origin;
  if (settings.fetch !== undefined) options.fetch = settings.fetch;
  if (settings.timeoutMs !== undefined) options.timeoutMs = settings.timeoutMs;
  return options;
}

/** What an attempt that failed leaves: due again later, or failed for good. */
function afterFailure(error: unknown, attempts: number, now: Date, retryStatus: "pending" | "deleting") {
  const message = error instanceof Error ? error.message : String(error);
  const retry = error instanceof ShopifyApiError && error.retryable && attempts < maxAttempts;
  return retry
    ? {
        status: retryStatus,
        last_error: message,
        next_attempt_at: new Date(now.getTime() + backoffMs(attempts)).toISOString(),
      }
    : { status: "failed" as const, last_error: message, next_attempt_at: null };
}

/** One attempt at one row: create the discount (pending) or delete it (deleting). */
async function attempt(
  database: DatabaseHandle,
  settings: ShopifyApiSettings,
  row: PlatformDiscountsTable,
  now: Date,
): Promise<void> {
  if (!(await claim(database, row, now))) return;
  const attempts = row.attempts + 1;
  // A row whose redemption, member or connection is gone fails for good instead of stopping the sweep.
  const subject = await subjectOf(database, row).catch((error: unknown) => {
    if (error instanceof AppError) return null;
    throw error;
  });
  if (subject === null) {
    await record(
      database,
      row,
      { status: "failed", last_error: "the redemption or the Shopify connection is gone", next_attempt_at: null },
      now,
    );
    return;
  }
  const options = clientOptions(settings, subject);
  if (row.status === "deleting") {
    try {
      if (row.price_rule_id !== null) await deleteShopifyDiscount(options, row.price_rule_id);
      await record(database, row, { status: "deleted", last_error: null, next_attempt_at: null }, now);
    } catch (error) {
      await record(database, row, afterFailure(error, attempts, now, "deleting"), now);
    }
    return;
  }
  try {
    const created = await createShopifyDiscount(options, {
      code: subject.code,
      issued: subject.issued,
      storeCurrency: subject.currency,
      customerId: subject.customerId,
      startsAt: subject.created_at,
      endsAt: subject.code_expires_at,
      title: subject.code,
    });
    if ("unsupported" in created) {
      await record(
        database,
        row,
        { status: "unsupported", last_error: created.unsupported, next_attempt_at: null },
        now,
      );
    } else {
      await record(
        database,
        row,
        {
          status: "created",
          price_rule_id: created.priceRuleId,
          discount_code_id: created.discountCodeId,
          last_error: null,
          next_attempt_at: null,
        },
        now,
      );
    }
  } catch (error) {
    await record(database, row, afterFailure(error, attempts, now, "pending"), now);
  }
}

/** Sends one redemption's discount now (right after the redemption or cancellation commits). */
export async function sendShopifyDiscount(
  database: DatabaseHandle,
  settings: ShopifyApiSettings,
  shopId: string,
  redemptionId: string,
  now: Date,
): Promise<PlatformDiscountsTable | undefined> {
  const row = await findDiscount(database.db, shopId, redemptionId);
  if (row && (row.status === "pending" || row.status === "deleting")) {
    await attempt(database, settings, row, now);
    return findDiscount(database.db, shopId, redemptionId);
  }
  return row;
}

/** The sweep: every discount due to be sent or deleted again, a batch at a time. Returns how many were tried. */
export async function sendDueShopifyDiscounts(
  database: DatabaseHandle,
  settings: ShopifyApiSettings,
  now: Date,
): Promise<number> {
  let tried = 0;
  for (;;) {
    const due = await database.db
      .selectFrom("platform_discounts")
      .selectAll()
      .where("status", "in", ["pending", "deleting"])
      .where("next_attempt_at", "<=", now.toISOString())
      .orderBy("next_attempt_at")
      .limit(50)
      .execute();
    if (due.length === 0) return tried;
    // Each attempt moves its row's next_attempt_at past now (a lease, a backoff) or ends it, so
    // the loop ends; a row another process claimed is skipped by claim().
    for (const row of due) await attempt(database, settings, row, now);
    tried += due.length;
  }
}

export function toDiscountJson(row: PlatformDiscountsTable | undefined) {
  if (!row) return null;
  return {
    platform: "shopify" as const,
    status: row.status,
    price_rule_id: row.price_rule_id,
    discount_code_id: row.discount_code_id,
    attempts: row.attempts,
    last_error: row.last_error,
    next_attempt_at: row.next_attempt_at,
    updated_at: row.updated_at,
  };
}
