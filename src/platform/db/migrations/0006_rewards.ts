import type { Kysely } from "kysely";

// Frozen: never edit a migration that has shipped; add a new one.
export async function up(db: Kysely<any>): Promise<void> {
  // The shop's reward catalog. What a reward gives and costs is JSON (`settings`); what must be
  // queried or changed under a lock (status, window, stock) is in columns.
  await db.schema
    .createTable("rewards")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("type", "text", (column) => column.notNull())
    .addColumn("name", "text", (column) => column.notNull())
    .addColumn("description", "text", (column) => column.notNull())
    .addColumn("image_url", "text")
    .addColumn("settings", "text", (column) => column.notNull())
    .addColumn("stock_total", "bigint")
    .addColumn("stock_remaining", "bigint")
    .addColumn("redeemed", "bigint", (column) => column.notNull())
    .addColumn("starts_at", "text")
    .addColumn("ends_at", "text")
    .addColumn("version", "integer", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("rewards_pkey", ["shop_id", "id"])
    .execute();
  await db.schema.createIndex("rewards_status").on("rewards").columns(["shop_id", "status", "id"]).execute();

  // One row per redemption: the points spent (a ledger transaction), what was issued (a code, or
  // store credit) and what became of it.
  await db.schema
    .createTable("redemptions")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("reward_id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("status", "text", (column) => column.notNull())
    .addColumn("points", "bigint", (column) => column.notNull())
    .addColumn("transaction_id", "text", (column) => column.notNull())
    .addColumn("refund_transaction_id", "text")
    .addColumn("reward", "text", (column) => column.notNull())
    .addColumn("code", "text")
    .addColumn("code_expires_at", "text")
    .addColumn("order_id", "text")
    .addColumn("used_at", "text")
    .addColumn("cancelled_at", "text")
    .addColumn("cancel_reason", "text")
    .addColumn("created_at", "text", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("redemptions_pkey", ["shop_id", "id"])
    .addForeignKeyConstraint("redemptions_reward_fkey", ["shop_id", "reward_id"], "rewards", ["shop_id", "id"])
    .addForeignKeyConstraint("redemptions_member_fkey", ["shop_id", "member_id"], "members", ["shop_id", "id"])
    .execute();
  await db.schema.createIndex("redemptions_code").on("redemptions").columns(["shop_id", "code"]).unique().execute();
  await db.schema
    .createIndex("redemptions_member")
    .on("redemptions")
    .columns(["shop_id", "member_id", "reward_id", "status"])
    .execute();

  // Store credit a member holds, per currency, and every change to it.
  await db.schema
    .createTable("store_credit_balances")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("currency", "text", (column) => column.notNull())
    .addColumn("balance", "bigint", (column) => column.notNull())
    .addColumn("updated_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("store_credit_balances_pkey", ["shop_id", "member_id", "currency"])
    .execute();
  await db.schema
    .createTable("store_credit_entries")
    .addColumn("shop_id", "text", (column) => column.notNull().references("shops.id"))
    .addColumn("id", "text", (column) => column.notNull())
    .addColumn("member_id", "text", (column) => column.notNull())
    .addColumn("currency", "text", (column) => column.notNull())
    .addColumn("amount", "bigint", (column) => column.notNull())
    .addColumn("redemption_id", "text")
    .addColumn("reason", "text", (column) => column.notNull())
    .addColumn("created_at", "text", (column) => column.notNull())
    .addPrimaryKeyConstraint("store_credit_entries_pkey", ["shop_id", "id"])
    .execute();
  await db.schema
    .createIndex("store_credit_entries_member")
    .on("store_credit_entries")
    .columns(["shop_id", "member_id", "id"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("store_credit_entries").execute();
  await db.schema.dropTable("store_credit_balances").execute();
  await db.schema.dropTable("redemptions").execute();
  await db.schema.dropTable("rewards").execute();
}
