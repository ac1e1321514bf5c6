import type { ApiKeysTable } from "../../modules/keys/tables.js";
import type { ShopsTable } from "../../modules/shops/tables.js";
import type { IdempotencyKeysTable } from "../http/idempotency.js";

/**
 * The whole database as Kysely sees it. Each table is declared by the module that owns it; this
 * file only puts them side by side. Timestamps are ISO-8601 UTC text, points and money integers.
 */
export interface Database {
  shops: ShopsTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
}
