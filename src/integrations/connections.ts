import type { Kysely } from "kysely";
import { isUniqueViolation } from "../platform/db/constraint-errors.js";
import type { DatabaseHandle } from "../platform/db/database.js";
import type { Database } from "../platform/db/schema.js";
import { withTransaction } from "../platform/db/transaction.js";
import { AppError } from "../platform/errors.js";
import type { Platform } from "./orders.js";
import type { ShopIntegrationsTable } from "./tables.js";

/**
 * The store platforms connected to a shop (`shop_integrations`): one connection per platform per
 * shop, and one shop per store account. The account names the shop on incoming webhooks; the
 * secret verifies them and never leaves this module except to the webhook verifier.
 */

export const platforms = ["shopify", "woocommerce"] as const satisfies readonly Platform[];

const platformNames: Record<Platform, string> = { shopify: "Shopify", woocommerce: "WooCommerce" };

export function platformName(platform: Platform): string {
  return platformNames[platform];
}

/** A connection as the API shows it: everything but the secret. */
export interface Integration {
  platform: Platform;
  account: string;
  createdAt: string;
  updatedAt: string;
}

function toIntegration(row: ShopIntegrationsTable): Integration {
  return { platform: row.platform, account: row.account, createdAt: row.created_at, updatedAt: row.updated_at };
}

export function toIntegrationResponse(integration: Integration) {
  return {
    object: "integration" as const,
    platform: integration.platform,
    account: integration.account,
    webhook_secret_set: true as const,
    created_at: integration.createdAt,
    updated_at: integration.updatedAt,
  };
}

const hostnameLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function isHostname(host: string): boolean {
  const labels = host.split(".");
  return host.length <= 253 && labels.length >= 2 && labels.every((label) => hostnameLabel.test(label));
}

/**
 * A Shopify shop domain as `X-Shopify-Shop-Domain` sends it: the lower-cased hostname
 * (`example.myshopify.com`). A pasted `https://example.myshopify.com/` is read as its host; a
 * trailing dot is dropped. Null when it is not a hostname (or is a URL with a path or query).
 */
export function normalizeShopifyDomain(raw: string): string | null {
  let host = raw.trim().toLowerCase();
  const url = /^https?:\/\//.test(host) ? parseUrl(host) : null;
  if (url !== null) {
    if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== "" || url.port !== "") {
      return null;
    }
    host = url.hostname;
  }
  host = host.replace(/\.$/, "");
  return isHostname(host) ? host : null;
}

function parseUrl(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

/**
 * A WooCommerce site URL as `X-WC-Webhook-Source` sends it (WordPress `home_url('/')`,
 * `https://example.com/`): scheme and host lower-cased (the URL parser also drops a default port
 * and writes an international host in punycode), the path kept as written and ending in a slash.
 * Null when it is not an http(s) URL of a host, or carries credentials, a query or a fragment.
 */
export function normalizeWooSiteUrl(raw: string): string | null {
  const text = raw.trim();
  if (!/^https?:\/\//i.test(text)) return null;
  const url = parseUrl(text);
  if (url === null || url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    return null;
  }
  const host = url.hostname.replace(/\.$/, "");
  if (host !== "localhost" && !isHostname(host) && !/^\[[0-9a-f:.]+\]$/.test(host)) return null;
  const path = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
  return `${url.protocol}//${host}${url.port === "" ? "" : `:${url.port}`}${path}`;
}

/** The stored form of a platform account, or null when the text cannot name one. */
export function normalizeAccount(platform: Platform, raw: string): string | null {
  return platform === "shopify" ? normalizeShopifyDomain(raw) : normalizeWooSiteUrl(raw);
}

const accountHints: Record<Platform, string> = {
  shopify: 'must be the shop\'s domain as Shopify sends it in X-Shopify-Shop-Domain, such as "example.myshopify.com"',
  woocommerce:
    'must be the site URL as WooCommerce sends it in X-WC-Webhook-Source, such as "https://example.com/" (http or https, no query)',
};

function invalid(pointer: string, message: string): AppError {
  return new AppError("invalid_field_value", `${pointer} ${message}`, { errors: [{ pointer, message }] });
}

async function findRow(db: Kysely<Database>, shopId: string, platform: Platform) {
  return db
    .selectFrom("shop_integrations")
    .selectAll()
    .where("shop_id", "=", shopId)
    .where("platform", "=", platform)
    .executeTakeFirst();
}

export interface ConnectInput {
  shopId: string;
  platform: Platform;
  account: string;
  webhookSecret: string;
}

/**
 * Connects a store to the shop, or replaces the shop's connection to the platform (another
 * account, a new secret). The secret is stored trimmed (neither platform issues secrets with
 * surrounding blanks; a pasted newline would otherwise never verify). A store connected to another
 * shop is 409 `integration_account_taken`: a webhook must name exactly one shop.
 */
export async function connectIntegration(
  database: DatabaseHandle,
  input: ConnectInput,
  now: Date,
): Promise<{ integration: Integration; created: boolean }> {
  const account = normalizeAccount(input.platform, input.account);
  if (account === null) throw invalid("/body/account", accountHints[input.platform]);
  const secret = input.webhookSecret.trim();
  if (secret === "") throw invalid("/body/webhook_secret", "must not be blank");
  const timestamp = now.toISOString();
  // A concurrent connect of the same account (or the same shop) loses on a unique index; the
  // second attempt then sees the winner's row and answers 409 or replaces it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(database, async (trx) => {
        const holder = await trx
          .selectFrom("shop_integrations")
          .select("shop_id")
          .where("platform", "=", input.platform)
          .where("account", "=", account)
          .executeTakeFirst();
        if (holder && holder.shop_id !== input.shopId) {
          throw new AppError(
            "integration_account_taken",
            `The ${platformName(input.platform)} store ${account} is connected to another shop; disconnect it there first`,
            { errors: [{ pointer: "/body/account", message: "is connected to another shop" }] },
          );
        }
        const existing = await findRow(trx, input.shopId, input.platform);
        if (existing) {
          await trx
            .updateTable("shop_integrations")
            .set({ account, webhook_secret: secret, updated_at: timestamp })
            .where("shop_id", "=", input.shopId)
            .where("platform", "=", input.platform)
            .execute();
          return {
            integration: toIntegration({ ...existing, account, webhook_secret: secret, updated_at: timestamp }),
            created: false,
          };
        }
        const row: ShopIntegrationsTable = {
          shop_id: input.shopId,
          platform: input.platform,
          account,
          webhook_secret: secret,
          admin_access_token: null,
          sync_discount_codes: 0,
          created_at: timestamp,
          updated_at: timestamp,
        };
        await trx.insertInto("shop_integrations").values(row).execute();
        return { integration: toIntegration(row), created: true };
      });
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= 3) throw error;
    }
  }
}

export async function listIntegrations(db: Kysely<Database>, shopId: string): Promise<Integration[]> {
  const rows = await db
    .selectFrom("shop_integrations")
    .selectAll()
    .where("shop_id", "=", shopId)
    .orderBy("platform")
    .execute();
  return rows.map(toIntegration);
}

function notFound(platform: Platform): AppError {
  return new AppError(
    "integration_not_found",
    `This shop has no ${platformName(platform)} store connected; connect one with PUT /v1/integrations/${platform}`,
  );
}

export async function getIntegration(db: Kysely<Database>, shopId: string, platform: Platform): Promise<Integration> {
  const row = await findRow(db, shopId, platform);
  if (!row) throw notFound(platform);
  return toIntegration(row);
}

/**
 * Disconnects the shop's store of the platform: its webhooks are refused from then on (401, as
 * from any unknown store). The deliveries already received and what they recorded stay.
 */
export async function disconnectIntegration(db: Kysely<Database>, shopId: string, platform: Platform): Promise<void> {
  const result = await db
    .deleteFrom("shop_integrations")
    .where("shop_id", "=", shopId)
    .where("platform", "=", platform)
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw notFound(platform);
}

/** The connection a webhook names by its (normalized) account, secret included; for verifying it. */
export async function findIntegrationByAccount(
  db: Kysely<Database>,
  platform: Platform,
  account: string,
): Promise<ShopIntegrationsTable | undefined> {
  return db
    .selectFrom("shop_integrations")
    .selectAll()
    .where("platform", "=", platform)
    .where("account", "=", account)
    .executeTakeFirst();
}
