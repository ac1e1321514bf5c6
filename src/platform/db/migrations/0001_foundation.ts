import type { Kysely } from "kysely";

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("shops")
    .addColumn("id", "text", (column) => column.primaryKey())
    .addColumn("name", "text", (column) => column.notNull())
    .addColumn("base_currency", "text", (column) => column.notNull())
    .addColumn("timezone", "text", (column) => column.notNull())
    .addColumn("default_locale", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("kind", "text", (column) => column.notNull())
    .addColumn("name", "text", (column) => column.notNull())
    .addColumn("display_prefix", "text", (column) => column.notNull())
    .addColumn("token_hash", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("last_used_at", "text")
    .addColumn("revoked_at", "text")
    .addPrimaryKeyConstraint("api_keys_pkey", ["shop_id", "id"])
    .execute();
  // Keys are looked up by hash before the shop is known; the only index not led by shop_id.
  await db.schema.createIndex("api_keys_token_hash").unique().on("api_keys").column("token_hash").execute();

  await db.schema
    .createTable("idempotency_keys")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("idempotency_key", "text", (column) => column.notNull())
    .addColumn("request_hash", "text", (column) => column.notNull())
    .addColumn("state", "text", (column) => column.notNull())
    .addColumn("response_status", "integer")
    .addColumn("response_content_type", "text")
    .addColumn("response_body", "text")
    .addColumn("locked_until", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("completed_at", "text")
    .addPrimaryKeyConstraint("idempotency_keys_pkey", ["shop_id", "idempotency_key"])
    .execute();
  await db.schema
    .createIndex("idempotency_keys_created_at")
    .on("idempotency_keys")
    .columns(["shop_id", "created_at"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("idempotency_keys").execute();
  await db.schema.dropTable("api_keys").execute();
  await db.schema.dropTable("shops").execute();
}
