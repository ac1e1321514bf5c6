import { createHash, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../../platform/db/schema.js";
import type { Tx } from "../../platform/db/transaction.js";
import { AppError } from "../../platform/errors.js";
import { newId } from "../../platform/ids.js";
import type { ApiKey } from "./repository.js";
import * as repository from "./repository.js";
import type { ApiKeyKind } from "./tables.js";

export type { ApiKey, ApiKeyKind };

const tokenPrefixes: Record<ApiKeyKind, string> = { secret: "sk_", publishable: "pk_" };

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface CreatedApiKey {
  key: ApiKey;
  /** The full token. Shown once at creation; only its hash is kept. */
  token: string;
}

/** Creates a key for a shop and returns it with its token, which cannot be read again later. */
export async function createApiKey(
  trx: Tx,
  input: { shopId: string; kind: ApiKeyKind; name: string },
  now: Date,
): Promise<CreatedApiKey> {
  // 32 random bytes: 256 bits, so the SHA-256 lookup needs no salt or slow hash.
  const token = `${tokenPrefixes[input.kind]}${randomBytes(32).toString("base64url")}`;
  const row = {
    shop_id: input.shopId,
    id: newId("apiKey", now),
    kind: input.kind,
    name: input.name,
    display_prefix: token.slice(0, 11),
    token_hash: hashToken(token),
    created_at: now.toISOString(),
    last_used_at: null,
    revoked_at: null,
  };
  await repository.insertApiKey(trx, row);
  return { key: repository.toApiKey(row), token };
}

/** The active key a bearer token stands for, or undefined when it is unknown or revoked. */
export async function findActiveKeyByToken(db: Kysely<Database>, token: string): Promise<ApiKey | undefined> {
  if (!token.startsWith("sk_") && !token.startsWith("pk_")) return undefined;
  const row = await repository.findApiKeyByHash(db, hashToken(token));
  if (!row || row.revoked_at !== null) return undefined;
  return repository.toApiKey(row);
}

export async function getApiKey(db: Kysely<Database>, shopId: string, keyId: string): Promise<ApiKey> {
  const row = await repository.findApiKey(db, shopId, keyId);
  if (!row) throw new AppError("key_not_found", `No API key ${keyId} in this shop`);
  return repository.toApiKey(row);
}

/** Every key of a shop, newest first, read page by page (for the CLI and exports). */
export async function listAllApiKeys(
  db: Kysely<Database>,
  shopId: string,
  options: { includeRevoked: boolean },
): Promise<ApiKey[]> {
  const all: ApiKey[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listApiKeys(db, shopId, { limit: 500, after, includeRevoked: options.includeRevoked });
    all.push(...page);
    if (page.length < 500) return all;
    after = page.at(-1)?.id;
  }
}

export async function listApiKeys(
  db: Kysely<Database>,
  shopId: string,
  page: { limit: number; after?: string | undefined; includeRevoked?: boolean },
): Promise<ApiKey[]> {
  const rows = await repository.listApiKeys(db, shopId, {
    limit: page.limit,
    before: page.after,
    includeRevoked: page.includeRevoked ?? false,
  });
  return rows.map(repository.toApiKey);
}

/**
 * Revokes a key; revoking an already revoked key changes nothing. Through the API the last active
 * secret key cannot be revoked (`keepLastSecret`), so a shop cannot lock itself out of its own API;
 * the CLI, run by the operator, may.
 */
export async function revokeApiKey(
  trx: Tx,
  input: { shopId: string; keyId: string; keepLastSecret: boolean },
  now: Date,
): Promise<ApiKey> {
  const key = await getApiKey(trx, input.shopId, input.keyId);
  if (key.revokedAt !== null) return key;
  if (input.keepLastSecret && key.kind === "secret") {
    await repository.lockActiveSecretKeys(trx, input.shopId);
    if ((await repository.countActiveSecretKeys(trx, input.shopId)) <= 1) {
      throw new AppError("last_secret_key", "Create another secret key before revoking the last one");
    }
  }
  await repository.markRevoked(trx, input.shopId, input.keyId, now.toISOString());
  // Read back rather than assume: a concurrent revocation of the same key may have set it first.
  return getApiKey(trx, input.shopId, input.keyId);
}

/** Records that a key was used. Callers throttle this; it is a write. */
export async function recordKeyUse(db: Kysely<Database>, key: ApiKey, now: Date): Promise<void> {
  await repository.markUsed(db, key.shopId, key.id, now.toISOString());
}
