import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { ApiKeyKind, ApiKeysTable } from "./tables.js";

export interface ApiKey {
  id: string;
  shopId: string;
  kind: ApiKeyKind;
  name: string;
  displayPrefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function toApiKey(row: ApiKeysTable): ApiKey {
  return {
    id: row.id,
    shopId: row.shop_id,
    kind: row.kind,
    name: row.name,
    displayPrefix: row.display_prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export async function insertApiKey(db: Kysely<Database>, row: ApiKeysTable): Promise<void> {
  await db.insertInto("api_keys").values(row).execute();
}

export async function findApiKeyByHash(db: Kysely<Database>, tokenHash: string): Promise<ApiKeysTable | undefined> {
  return db.selectFrom("api_keys").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
}

export async function findApiKey(
  db: Kysely<Database>,
  shopId: string,
  keyId: string,
): Promise<ApiKeysTable | undefined> {
  return db.selectFrom("api_keys").selectAll().where("shop_id", "=", shopId).where("id", "=", keyId).executeTakeFirst();
}

/** Newest first; `before` is the id to continue after (exclusive). */
export async function listApiKeys(
  db: Kysely<Database>,
  shopId: string,
  page: { limit: number; before?: string | undefined; includeRevoked: boolean },
): Promise<ApiKeysTable[]> {
  let query = db.selectFrom("api_keys").selectAll().where("shop_id", "=", shopId);
  if (!page.includeRevoked) query = query.where("revoked_at", "is", null);
  if (page.before) query = query.where("id", "<", page.before);
  return query.orderBy("id", "desc").limit(page.limit).execute();
}

/**
 * Row-locks the shop's active secret keys until the transaction ends (a no-op update takes the
 * lock on PostgreSQL; SQLite's single writer already serializes), so two concurrent revocations
 * cannot both see "another secret key remains" and leave the shop with none.
 */
export async function lockActiveSecretKeys(db: Kysely<Database>, shopId: string): Promise<void> {
  await db
    .updateTable("api_keys")
    .set((eb) => ({ revoked_at: eb.ref("revoked_at") }))
    .where("shop_id", "=", shopId)
    .where("kind", "=", "secret")
    .where("revoked_at", "is", null)
    .execute();
}

export async function countActiveSecretKeys(db: Kysely<Database>, shopId: string): Promise<number> {
  const row = await db
    .selectFrom("api_keys")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("shop_id", "=", shopId)
    .where("kind", "=", "secret")
    .where("revoked_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function markRevoked(db: Kysely<Database>, shopId: string, keyId: string, at: string): Promise<void> {
  await db
    .updateTable("api_keys")
    .set({ revoked_at: at })
    .where("shop_id", "=", shopId)
    .where("id", "=", keyId)
    .where("revoked_at", "is", null)
    .execute();
}

export async function markUsed(db: Kysely<Database>, shopId: string, keyId: string, at: string): Promise<void> {
  await db
    .updateTable("api_keys")
    .set({ last_used_at: at })
    .where("shop_id", "=", shopId)
    .where("id", "=", keyId)
    .execute();
}
